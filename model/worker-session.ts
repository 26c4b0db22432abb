/**
 * An onnxruntime session in a worker thread. onnxruntime-node's `run` is synchronous on the calling
 * thread (its backend defers it with setImmediate, then blocks in native code for the whole run), so
 * a session on the main thread stops a node's event loop for every inference: frames, replies and
 * acknowledgements wait for it. Here the session lives in its own worker thread and the main thread
 * only posts tensors to it and takes the outputs back, so the loop keeps serving I/O while a run
 * computes. One worker per session: runs of one session queue in its worker (as they queued on the
 * main thread), runs of different sessions (a head and a background tail) proceed side by side.
 *
 * Tensors cross by transfer, never by structured clone of a view: cloning a typed array copies its
 * whole underlying ArrayBuffer (a view of a socket read or a protobuf message would drag the whole
 * buffer along), and transferring the caller's buffer would detach an array the caller may still
 * read. So each input is copied once into a buffer of its own, which is transferred; outputs are
 * created by onnxruntime in the worker and transferred back without a copy.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

/** runner.ts's RunStats (not imported: runner.ts imports this file). */
interface RunStats { computeMs?: number }

/** A tensor as it crosses the thread boundary. */
export interface WireTensor { type: ort.Tensor.Type; dims: readonly number[]; data: ort.Tensor.DataType }

export interface WorkerSessionInfo {
  inputMetadata: ort.InferenceSession.ValueMetadata[];
  outputNames: string[];
}

/** The worker's program (plain JavaScript: a worker does not go through the TypeScript loader). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const own = (data) => ArrayBuffer.isView(data) && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
  ? data : (ArrayBuffer.isView(data) ? data.slice() : data);
let session;
ort.InferenceSession.create(workerData.file, workerData.options).then((s) => {
  session = s;
  parentPort.postMessage({ kind: 'ready', inputMetadata: s.inputMetadata, outputNames: s.outputNames });
}, (err) => parentPort.postMessage({ kind: 'failed', message: String(err && err.message || err) }));
parentPort.on('message', async (msg) => {
  if (msg.kind === 'release') {
    if (session) await session.release().catch(() => undefined);
    parentPort.postMessage({ kind: 'released' });
    parentPort.close();
    return;
  }
  try {
    const feeds = {};
    for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    const t0 = performance.now();
    const out = await session.run(feeds);
    const computeMs = performance.now() - t0;
    const outputs = {};
    const transfer = [];
    for (const [name, t] of Object.entries(out)) {
      const data = own(t.data);
      if (ArrayBuffer.isView(data)) transfer.push(data.buffer);
      outputs[name] = { type: t.type, dims: t.dims, data };
    }
    parentPort.postMessage({ kind: 'result', id: msg.id, outputs, computeMs }, transfer);
  } catch (err) {
    parentPort.postMessage({ kind: 'error', id: msg.id, message: String(err && err.message || err) });
  }
});
`;

const ORT_PATH = createRequire(import.meta.url).resolve('onnxruntime-node');

interface Pending { resolve(outputs: Record<string, ort.Tensor>): void; reject(err: Error): void; stats?: RunStats }

/** The main thread's handle on a session in a worker. */
export class WorkerSession {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #released: Promise<void> | undefined;
  #dead: Error | undefined;

  private constructor(worker: Worker, readonly info: WorkerSessionInfo) {
    this.#worker = worker;
    worker.on('message', (msg: { kind: string; id: number; outputs?: Record<string, WireTensor>; computeMs?: number; message?: string }) => {
      const pending = this.#pending.get(msg.id);
      if (!pending) return;
      this.#pending.delete(msg.id);
      this.#idle();
      if (msg.kind === 'result') {
        if (pending.stats) pending.stats.computeMs = msg.computeMs;
        pending.resolve(fromWire(msg.outputs!));
      }
      else pending.reject(new Error(msg.message));
    });
    const fail = (err: Error) => {
      this.#dead ??= err;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`onnxruntime worker thread exited (code ${code})`)));
    // A session that computes nothing does not keep the process alive (as a main-thread session does not).
    worker.unref();
  }

  /** Starts a worker and creates the session in it; rejects with onnxruntime's message when it cannot. */
  static open(file: string, options: ort.InferenceSession.SessionOptions): Promise<WorkerSession> {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath: ORT_PATH, file, options } });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      worker.once('error', onError);
      worker.once('message', (msg: { kind: string; message?: string } & WorkerSessionInfo) => {
        worker.off('error', onError);
        if (msg.kind === 'ready') {
          resolve(new WorkerSession(worker, { inputMetadata: msg.inputMetadata, outputNames: msg.outputNames }));
        } else {
          void worker.terminate();
          reject(new Error(msg.message));
        }
      });
    });
  }

  /** Runs the session on `feeds` (each copied once into a buffer that is transferred, see above). */
  run(feeds: Record<string, ort.Tensor>, stats?: RunStats): Promise<Record<string, ort.Tensor>> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#next++;
    const wire: Record<string, WireTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, t] of Object.entries(feeds)) {
      const data = ArrayBuffer.isView(t.data) ? (t.data as Float32Array).slice() : t.data;
      if (ArrayBuffer.isView(data)) transfer.push(data.buffer as ArrayBuffer);
      wire[name] = { type: t.type, dims: t.dims, data };
    }
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, stats });
      // While a run is out, the reply must keep the process alive.
      if (this.#pending.size === 1) this.#worker.ref();
      this.#worker.postMessage({ kind: 'run', id, feeds: wire }, transfer);
    });
  }

  /** Releases the session and ends the worker; idempotent. */
  release(): Promise<void> {
    this.#released ??= (async () => {
      if (this.#dead) return;
      this.#worker.ref();
      const done = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
      this.#worker.postMessage({ kind: 'release' });
      await done;
    })();
    return this.#released;
  }

  #idle(): void {
    if (this.#pending.size === 0) this.#worker.unref();
  }
}

function fromWire(outputs: Record<string, WireTensor>): Record<string, ort.Tensor> {
  return Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, new ort.Tensor(t.type, t.data as Float32Array, t.dims)]));
}
