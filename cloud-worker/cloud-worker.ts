/**
 * The cloud worker: serves the tails of its models to edge nodes through a TensorTransport. Workers
 * in one group share the requests; each runs at most `concurrency` tails at once and measures how
 * long a request waited, decoded, ran and encoded, which the edge turns into the link's share.
 * A failed request throws: the transport turns it into the error reply (code and `retryable`).
 * A request's input tensors are decoded into arrays from a pool (BufferPool), which take the next
 * request's inputs once this request's tail has run: decoding into fresh multi-MB arrays costs more
 * than the conversion (docs/performance.md, "Codecs").
 */
import * as ort from 'onnxruntime-node';
import { BufferPool, decodeTensor, encodeTensor, type BufferPoolStats, type FloatTensor } from '../codec/index.ts';
import { DynasplitError, ErrorCodes, Limiter, silentLogger, wallClockMs, type Logger } from '../common/index.ts';
import type { DeviceProfile } from '../hardware/index.ts';
import type { RunStats, ServedModel, SessionCacheStats } from '../model/index.ts';
import { floatTensor, startNodeRuntime, type NodeRuntime } from '../node-runtime/index.ts';
import type { TailReplyProperties, TailRequest } from '../schemas/index.ts';
import { errorInfo, type Serving, type TensorTransport } from '../transport/index.ts';
import { parseCloudOptions, type CloudWorkerOptions } from './options.ts';
import { followPolicies } from './policy-tails.ts';
import { defaultTailCuts, warmTails } from './warm-up.ts';

export interface CloudWorkerDeps {
  logger?: Logger;
  /** A transport to use instead of creating one (then close() leaves it open). */
  transport?: TensorTransport;
  /** A calibrated host profile to reuse (otherwise calibrated once per process). */
  host?: DeviceProfile;
}

export interface CloudWorkerStats {
  requests: number;
  replies: number;
  errors: Record<string, number>;
  active: number;
  queued: number;
  /** The pool the request's input tensors are decoded into (fp32 with an aligned payload needs none). */
  inputBuffers: BufferPoolStats;
  /** The tails' sessions: loaded, their weights against the budget, loads and evictions so far. */
  sessions: SessionCacheStats;
  /** Published policies whose tails were loaded (./policy-tails.ts), and those that could not be read. */
  policies: { policies: number; malformed: number };
}

export interface CloudWorker {
  readonly workerId: string;
  stats(): CloudWorkerStats;
  /** Stops taking requests, answers those taken, disconnects. Idempotent. */
  close(): Promise<void>;
}

export async function startCloudWorker(partial: Partial<CloudWorkerOptions>, deps: CloudWorkerDeps = {}): Promise<CloudWorker> {
  const options = parseCloudOptions(partial);
  const logger = (deps.logger ?? silentLogger()).child({ component: 'cloud-worker', node: options.workerId });
  const runtime = await startNodeRuntime({ ...options, role: 'worker', nodeId: options.workerId, nodeClass: options.group }, { logger, transport: deps.transport, host: deps.host });
  const slots = new Limiter(options.concurrency, options.maxQueue);
  const pool = new BufferPool();
  const stats: Omit<CloudWorkerStats, 'sessions' | 'policies'> = { requests: 0, replies: 0, errors: {}, active: 0, queued: 0, inputBuffers: pool.stats() };
  const handler = async (request: TailRequest): Promise<TailReplyProperties> => {
    // The clock deadlines are stamped on (the edge's wallClockMs, from the sensor's capture).
    const receivedAt = wallClockMs();
    const arrived = performance.now();
    stats.requests++;
    try {
      if (request.deadline_at_ms && request.deadline_at_ms <= receivedAt) {
        throw new DynasplitError(ErrorCodes.EXPIRED, `request ${request.request_id} reached the worker after its deadline`);
      }
      const reply = await slots.run(() => runTail(runtime, slots, pool, request, { arrived, receivedAtMs: receivedAt, workerId: options.workerId }));
      stats.replies++;
      return reply;
    } catch (err) {
      // Counted here, answered (and logged) by the transport.
      const { code } = errorInfo(err);
      stats.errors[code!] = (stats.errors[code!] ?? 0) + 1;
      throw err;
    } finally {
      stats.active = slots.active;
      stats.queued = slots.queued;
    }
  };
  let serving: Serving;
  try {
    for (const model of runtime.models.names()) {
      const warmed = await warmTails(runtime.models, model, defaultTailCuts(runtime.models, model), logger);
      logger.info({ model, ...warmed }, 'tails of the default policy loaded');
    }
    serving = await runtime.transport.serve(handler, { models: runtime.models.names(), group: options.group, workerId: options.workerId });
  } catch (err) {
    await runtime.close();
    throw err;
  }
  runtime.announcer.serving();
  logger.info({ models: runtime.models.names(), transport: runtime.transport.kind, group: options.group }, 'cloud worker serving');
  const policies = followPolicies(runtime.models, { mqttUrl: options.mqttUrl, mqttTls: options.mqttTls, workerId: options.workerId }, logger);
  let closing: Promise<void> | undefined;
  return {
    workerId: options.workerId,
    stats: () => ({ ...stats, errors: { ...stats.errors }, active: slots.active, queued: slots.queued, inputBuffers: pool.stats(), sessions: runtime.sessions.stats(), policies: policies.stats() }),
    close: () => {
      closing ??= (async () => {
        await serving.close();
        await policies.close();
        await slots.drain();
        await runtime.close();
        logger.info({ ...stats, inputBuffers: pool.stats() }, 'cloud worker closed');
      })();
      return closing;
    },
  };
}

/**
 * The tail's inputs from a request: the cut tensor; cloud-only ('input') every model input, `tensor`
 * the first and `more_tensors` the rest by name (one input takes `tensor` whatever its name). The
 * transport has checked that the request carries a tensor (checkTailRequest). Each tensor is
 * decoded into an array from `pool` and listed in `decoded` as soon as it is, so that the caller
 * releases it even when a later one fails.
 */
function tailFeeds(served: ServedModel, request: TailRequest, pool: BufferPool, decoded: FloatTensor[]): Record<string, ort.Tensor> {
  const sent = [request.tensor!, ...(request.more_tensors ?? [])];
  const named = sent.map((message) => {
    const t = decodeTensor(message, { into: pool });
    decoded.push(t);
    return { name: message.name ?? '', tensor: new ort.Tensor('float32', t.data, t.shape) };
  });
  if (request.cut !== 'input') return { [request.cut]: named[0].tensor };
  if (served.inputs.length === 1) return { [served.inputs[0].name]: named[0].tensor };
  const feeds = Object.fromEntries(named.map(({ name, tensor }) => [name, tensor]));
  const missing = served.inputs.find((i) => !(i.name in feeds));
  if (missing) {
    throw new DynasplitError(ErrorCodes.BAD_INPUT, `cloud-only request for ${served.name} lacks input '${missing.name}'`, { details: { tensor: missing.name } });
  }
  return feeds;
}

/** When and where a request arrived: performance.now(), the wall clock (ms since the epoch), the serving worker. */
interface Receipt {
  arrived: number;
  receivedAtMs: number;
  workerId: string;
}

/**
 * Runs one tail in a slot: decode, run (dilated to the emulated device), meter, encode every output.
 * The decoded inputs go back to `pool` once the run has resolved or failed; by then nothing holds
 * them: onnxruntime-node has finished reading them (a worker-thread session copied them before
 * posting, model/worker-session.ts), its outputs are arrays of their own (checked in
 * test/unit/cloud-worker/input-pool.test.ts), and the reply carries only those outputs.
 */
async function runTail(runtime: NodeRuntime, slots: Limiter, pool: BufferPool, request: TailRequest, receipt: Receipt): Promise<TailReplyProperties> {
  const { models, hardware } = runtime;
  const slotWaitMs = performance.now() - receipt.arrived;
  const t0 = performance.now();
  const served = models.get(request.model);
  if (!served.cuts.includes(request.cut) || request.cut === 'output') {
    throw new DynasplitError(ErrorCodes.UNKNOWN_CUT, `${request.model} has no tail at '${request.cut}'`, { details: { cut: request.cut } });
  }
  if (request.model_fingerprint && request.model_fingerprint !== served.fingerprint) {
    throw new DynasplitError(ErrorCodes.MODEL_MISMATCH,
      `edge ${request.edge_id || '(unnamed)'} serves another file as ${request.model} (fingerprint ${request.model_fingerprint}; this worker's ${served.path} is ${served.fingerprint})`,
      { details: { model: request.model, edgeId: request.edge_id, edgeFingerprint: request.model_fingerprint, fingerprint: served.fingerprint } });
  }
  const decoded: FloatTensor[] = [];
  let t1: number;
  let mark: ReturnType<typeof hardware.meter.start>;
  let outputs: Record<string, ort.Tensor>;
  // This request's share of the node: it ran alongside the others active at its start.
  const share = 1 / Math.max(1, slots.active);
  const cloudMode = request.cloud_accelerator || undefined;
  // onnxruntime's own run time: a worker session's hops count as the request's overhead, not as compute.
  const run: RunStats = {};
  try {
    const feeds = tailFeeds(served, request, pool, decoded);
    t1 = performance.now();
    mark = hardware.meter.start();
    outputs = await models.runAll(request.model, 'tail', request.cut, feeds, {}, run);
  } finally {
    for (const t of decoded) pool.release(t.data); // a view of the message (aligned fp32) is not the pool's: ignored
  }
  const cut = request.cut === 'input' ? served.inspection.input : served.inspection.cutPoints.find((c) => c.name === request.cut);
  const hostMs = run.computeMs ?? 0;
  const computeMs = await hardware.dilate(hostMs, { cloudMode }, cut?.flopsAfter);
  const energy = await hardware.meter.stop(mark, { computeMs, idleMs: 0, cloudMode, share });
  const t2 = performance.now();
  // In the model's order, each under its name: the first as `output`, the others as `more_outputs`.
  const [first, ...more] = served.outputs.map(({ name }) => encodeTensor(floatTensor(name, outputs[name]), 'fp32'));
  const t3 = performance.now();
  return {
    // One literal with every field (an object spread followed by fields it lacks takes V8's slow path).
    request_id: request.request_id,
    worker_id: receipt.workerId,
    received_at_ms: receipt.receivedAtMs,
    output: first,
    more_outputs: more,
    // Waiting: for the slot, and for the event loop to start the inference (RunStats.waitMs).
    queue_ms: slotWaitMs + (run.waitMs ?? 0),
    decode_ms: t1 - t0,
    compute_ms: computeMs,
    encode_ms: t3 - t2,
    energy_j: energy.joules,
    energy_source: energy.source,
    latency_source: hardware.latencySource,
    unemulated_ms: hardware.emulated ? Math.max(0, hostMs - computeMs) : 0,
  };
}
