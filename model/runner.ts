/**
 * A thin layer over onnxruntime-node sessions: thread count, graph optimisation level and execution
 * provider, with a CPU fallback that says why, and input checks that name the offending tensor.
 */
import * as ort from 'onnxruntime-node';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { WorkerSession } from './worker-session.ts';

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/**
 * Where a session computes: 'main' on the calling thread (onnxruntime-node's `run` then blocks the
 * event loop for the whole inference), 'worker' in a worker thread of its own (worker-session.ts:
 * the loop keeps serving I/O; each run pays one message hop each way and one copy of its inputs).
 */
export type InferenceThread = 'main' | 'worker';
export const INFERENCE_THREADS: readonly InferenceThread[] = ['main', 'worker'];

export interface RunnerOptions {
  /** Intra-op threads; default 0 = onnxruntime's choice (one per core). */
  threads?: number;
  /** default 'all' */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** onnxruntime execution provider name ('cpu', 'cuda', 'tensorrt', 'webgpu', ...); default 'cpu'. */
  executionProvider?: string;
  /** Called once when the requested provider cannot be used and the session falls back to CPU. */
  onFallback?: (message: string) => void;
  /**
   * What errors call the model (default: its path). A part written to a work or temporary
   * directory is named after the user's file, e.g. `net.onnx (tail at 'x')`.
   */
  label?: string;
  /** default 'main' (see InferenceThread) */
  thread?: InferenceThread;
}

export interface InputSpec { name: string; dtype: string; shape: ReadonlyArray<number | string> }

export interface ModelSession {
  readonly path: string;
  /** The provider the session actually runs on. */
  readonly provider: string;
  /** Why the requested provider was not used, when it was not. */
  readonly fallback?: string;
  readonly inputs: readonly InputSpec[];
  readonly outputNames: readonly string[];
  /** `stats`, when given, receives the run's compute time (see RunStats). */
  run(feeds: Record<string, ort.Tensor>, stats?: RunStats): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

/**
 * What a run took, ms: onnxruntime's `run` on the thread that ran it, from the moment it starts
 * computing. A worker session's message hops and input copy are not in it, nor the main thread's wait
 * for its turn in the event loop, so a caller timing compute apart from its overhead charges them to
 * the overhead, where they belong.
 */
export interface RunStats {
  computeMs?: number;
  /**
   * ms from the call to the inference's start: onnxruntime-node starts it from a setImmediate, and
   * under load a whole poll phase of other I/O comes first. The node being busy, not compute.
   */
  waitMs?: number;
}

/** What openSession needs of an onnxruntime session, on this thread or in a worker. */
interface OrtSession {
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, ort.Tensor>, stats?: RunStats): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

export async function openSession(file: string, options: RunnerOptions = {}): Promise<ModelSession> {
  const path = options.label ?? file;
  const requested = options.executionProvider ?? 'cpu';
  let provider = requested;
  let fallback: string | undefined;
  let session: OrtSession;
  try {
    session = await create(file, options, requested);
  } catch (cause) {
    if (requested === 'cpu') throw loadError(file, path, cause);
    const backend = ort.listSupportedBackends().find((b) => b.name === requested);
    fallback = backend
      ? `execution provider '${requested}' could not start (${firstLine(cause)}); running ${path} on CPU`
      : `execution provider '${requested}' is not available in this onnxruntime build; running ${path} on CPU`;
    options.onFallback?.(fallback);
    provider = 'cpu';
    session = await create(file, options, 'cpu').catch((err: unknown) => { throw loadError(file, path, err); });
  }
  const inputs = session.inputMetadata.map((m): InputSpec => ({
    name: m.name,
    dtype: m.isTensor ? m.type : 'non-tensor',
    shape: m.isTensor ? m.shape : [],
  }));
  return {
    path: file,
    provider,
    fallback,
    inputs,
    outputNames: session.outputNames,
    async run(feeds, stats) {
      checkFeeds(path, inputs, feeds);
      try {
        return await session.run(feeds, stats);
      } catch (cause) {
        throw new DynasplitError(ErrorCodes.INFERENCE, `${path}: inference failed: ${firstLine(cause).split(file).join(path)}`, { cause, details: { file: path } });
      }
    },
    release: () => session.release(),
  };
}

/**
 * The onnxruntime options of a session. Its intra-op threads do not spin: by default onnxruntime keeps
 * them busy-waiting for the next parallel section after a run, which on a node's small host takes the
 * cores its own messaging needs (a 2-core host, vgg16-tiny split with 2 threads: 10 ms a request
 * through broker, edge and worker instead of 2.5; docs/performance.md) and burns energy for nothing.
 * A run with several threads then wakes them per parallel section: VGG16's run did not move, a
 * sub-millisecond model's took ~50% longer on 2 threads (still under a millisecond).
 */
export function sessionOptions(options: RunnerOptions, provider: string): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    intraOpNumThreads: options.threads ?? 0,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Errors only: warnings (e.g. initializers also listed as graph inputs, as older exporters write
    // them) would go to the process's stderr, bypassing the injected logger, once per session.
    logSeverityLevel: 3,
    // onnxruntime_session_options_config_keys.h: session.intra_op.allow_spinning.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

async function create(path: string, options: RunnerOptions, provider: string): Promise<OrtSession> {
  const ortOptions = sessionOptions(options, provider);
  if (options.thread === 'worker') {
    const worker = await WorkerSession.open(path, ortOptions);
    return { ...worker.info, run: (feeds, stats) => worker.run(feeds, stats), release: () => worker.release() };
  }
  const session = await ort.InferenceSession.create(path, ortOptions);
  return {
    inputMetadata: session.inputMetadata,
    outputNames: session.outputNames,
    async run(feeds, stats) {
      if (!stats) return session.run(feeds);
      // onnxruntime-node runs the inference from a setImmediate it queues inside run(); what the event
      // loop does before it gets there (a whole poll phase of other I/O under load) is no compute. This
      // immediate is queued just before onnxruntime's, so it fires right before the inference starts.
      const called = performance.now();
      let started = Number.NaN;
      setImmediate(() => { started = performance.now(); });
      const outputs = await session.run(feeds);
      // A run that did not wait for an immediate (another onnxruntime-node) is timed from the call.
      stats.computeMs = performance.now() - (Number.isNaN(started) ? called : started);
      stats.waitMs = Number.isNaN(started) ? 0 : started - called;
      return outputs;
    },
    release: () => session.release(),
  };
}

function loadError(file: string, path: string, cause: unknown): DynasplitError {
  // onnxruntime's message names the file it was given; name the user's instead.
  const message = firstLine(cause).split(file).join(path);
  return new DynasplitError(ErrorCodes.BAD_MODEL, `${path}: onnxruntime cannot load the model: ${message}`, {
    cause,
    details: { file: path },
  });
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}

/** Rejects feeds whose names, dtypes or shapes do not match the model, naming the tensor. */
export function checkFeeds(path: string, inputs: readonly InputSpec[], feeds: Record<string, ort.Tensor>): void {
  for (const spec of inputs) {
    const tensor = feeds[spec.name];
    const details = { file: path, tensor: spec.name };
    if (!tensor) {
      throw new DynasplitError(ErrorCodes.BAD_INPUT, `${path}: missing input tensor '${spec.name}'`, { details });
    }
    if (tensor.type !== spec.dtype) {
      throw new DynasplitError(ErrorCodes.BAD_INPUT,
        `${path}: input '${spec.name}' must be ${spec.dtype}, got ${tensor.type}`, { details });
    }
    const dims = tensor.dims;
    const matches = spec.shape.length === 0 || (dims.length === spec.shape.length &&
      spec.shape.every((d, i) => typeof d !== 'number' || d < 0 || d === dims[i]));
    if (!matches) {
      throw new DynasplitError(ErrorCodes.BAD_INPUT,
        `${path}: input '${spec.name}' must have shape [${spec.shape.join(', ')}], got [${dims.join(', ')}]`, { details });
    }
  }
  for (const name of Object.keys(feeds)) {
    if (!inputs.some((s) => s.name === name)) {
      throw new DynasplitError(ErrorCodes.BAD_INPUT, `${path}: the model has no input named '${name}'`, {
        details: { file: path, tensor: name },
      });
    }
  }
}
