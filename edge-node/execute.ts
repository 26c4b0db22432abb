/**
 * Runs one admitted request under one configuration: applies its edge settings (CPU frequency,
 * threads), runs the head on the edge, sends the cut tensor (cloud-only: every model input) to a
 * cloud worker through the TensorTransport, and takes the tail's outputs back (every model output). When the cloud does not answer in time (or
 * answers with an error) the edge runs the tail itself, so the request still gets its answer.
 * Compute times are the device's: measured, or dilated to the emulated device's profile.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { codecFromName, decodeTensor, encodeTensor } from '../codec/index.ts';
import { DynasplitError, ErrorCodes, isDynasplitError, type Slot } from '../common/index.ts';
import type { DilationSetting, NodeHardware } from '../hardware/index.ts';
import type { ModelStore, RunStats } from '../model/index.ts';
import { EDGE_ONLY_CUT, type Entry } from '../policy/index.ts';
import type { Codec, TailReply, TensorProperties } from '../schemas/index.ts';
import { replyError, type TensorTransport } from '../transport/index.ts';
import type { Admitted } from './frames.ts';

export interface Outcome {
  /** Every output of the model, by name. */
  outputs: Record<string, ort.Tensor>;
  /**
   * The tensors that crossed the cut as the head computed them (before the codec), when the cloud ran
   * the tail: the edge's tail over them is the unsplit model's answer, the reference of an agreement check.
   */
  cutTensors?: Record<string, ort.Tensor>;
  /** Device compute time on the edge (head, plus the tail after a fallback), ms. */
  edgeComputeMs: number;
  encodeMs: number;
  transferMs: number;
  /** Request sent to reply received (or to giving up), ms; 0 when nothing was sent. */
  roundTripMs: number;
  /**
   * Host time beyond the emulated devices' (a device faster than its host cannot be emulated by
   * waiting): the edge's own compute parts and the worker's (TailReply.unemulated_ms). No part of the
   * emulated request, so no idle energy is charged for it.
   */
  unemulatedMs: number;
  cloudQueueMs: number;
  /** The worker's decoding of the cut tensor and encoding of the outputs (TailReply.decode_ms, encode_ms); 0 without a reply. */
  cloudDecodeMs: number;
  cloudEncodeMs: number;
  cloudComputeMs: number;
  reconfigureMs: number;
  /**
   * ms this request waited after its admission: for a compute slot (the tail of a fallback; the head
   * when the caller held none), and for the event loop to start each of its inferences (RunStats.waitMs).
   * Queueing, counted in Latency.edge_queue_ms.
   */
  waitMs: number;
  tensorBytes: number;
  workerId: string;
  edgeFallback: boolean;
  /** Why the cloud's answer was not used, when it was not: the code, its message, and the worker that said so ('' when none did). */
  fallbackCode?: string;
  fallbackMessage?: string;
  fallbackWorkerId?: string;
  /** The cloud worker's energy for this request and where it comes from ('' = not metered). */
  cloudEnergyJ: number;
  cloudEnergySource: string;
  cloudLatencySource: string;
}

export interface ExecuteContext {
  models: ModelStore;
  transport: TensorTransport;
  hardware: NodeHardware;
  edgeId: string;
  threads: number;
  minCloudWaitMs: number;
  /**
   * The node's wall clock, ms since the epoch, on the clock sensors stamp their captures with
   * (wallClockMs: Date.now() moves in whole milliseconds, and would read the time left up to 1 ms high).
   */
  now(): number;
  /** One of the node's compute slots, once one is free: edge compute runs in one; waiting for the cloud holds none. */
  computeSlot(): Promise<Slot>;
  /** Expected ms to run the tail on the edge, so the cloud's wait leaves room for a fallback. */
  tailEstimateMs(model: string, cut: string): number;
  recordTail(model: string, cut: string, ms: number): void;
}

const HOST_CORES = availableParallelism();

/** Threads the host session runs with: the configuration's, else the node's, never more than the host has. */
export function hostThreads(configThreads: number | null | undefined, nodeThreads: number): number {
  return Math.min(configThreads || nodeThreads || HOST_CORES, HOST_CORES);
}

/**
 * A fallback is given its tail's estimate times TAIL_MARGIN plus FINISH_MS: a tail's time varies with
 * what else the host runs, and the result still has to be made and published once it is computed.
 * Without them the edge waited for the cloud until exactly the estimate was left, and its own answer
 * landed just past the budget (measured: 141 of 179 fallbacks late, by a median 0.9 ms, 3 edges on 2
 * cores).
 */
export const TAIL_MARGIN = 1.25;
export const FINISH_MS = 2;

/**
 * ms the edge waits for the cloud, `leftMs` before the deadline: what is left after the edge's own tail
 * and the margin above (so a fallback still meets the budget), at least `minMs`; where only the tail
 * itself fits, what is left after it. When the edge's tail cannot meet the
 * deadline at all, keeping room for it would only turn requests the cloud could still answer in time
 * into late fallbacks — and each fallback keeps the tail's estimate high, so one slow answer would
 * send every later request with a budget below the edge's tail time to the edge — so the cloud then
 * gets all that is left.
 */
export function cloudWaitMs(leftMs: number, tailEstimateMs: number, minMs: number): number {
  const reserve = tailEstimateMs * TAIL_MARGIN + FINISH_MS;
  const room = reserve < leftMs ? reserve : tailEstimateMs < leftMs ? tailEstimateMs : 0;
  return Math.max(minMs, leftMs - room);
}

/**
 * `held`: the compute slot the caller admitted the frame in, if it holds one. The head runs in it, so
 * a frame that got a slot is not queued again behind the frames that arrived since; it is released
 * before the cloud is waited on (and on any failure).
 */
export async function execute(req: Admitted, entry: Entry, ctx: ExecuteContext, held?: Slot): Promise<Outcome> {
  try {
    return await perform(req, entry, ctx, held);
  } finally {
    held?.release();
  }
}

async function perform(req: Admitted, entry: Entry, ctx: ExecuteContext, held: Slot | undefined): Promise<Outcome> {
  const config = entry.configuration;
  const { cut, codec } = config;
  let waitMs = 0;
  /** Runs `work` in the held slot (once), else in a fresh one, whose wait is queueing. */
  const onEdge = async <T>(work: () => Promise<T>): Promise<T> => {
    let slot = held;
    held = undefined;
    if (!slot) {
      const asked = performance.now();
      slot = await ctx.computeSlot();
      waitMs += performance.now() - asked;
    }
    try {
      return await work();
    } finally {
      slot.release();
    }
  };
  const reconfigureMs = await ctx.hardware.applyFrequency(config.edge_frequency_mhz ?? 0);
  // The host session never runs more threads than the host has; dilation accounts for the rest.
  const threads = hostThreads(config.edge_threads, ctx.threads);
  const setting: DilationSetting = {
    frequencyMhz: config.edge_frequency_mhz || undefined,
    threads: config.edge_threads || undefined,
    accelerator: config.edge_accelerator || undefined,
    hostThreads: threads,
  };
  const flops = partFlops(ctx.models, req.model, cut);
  let edgeUnemulatedMs = 0;
  const compute = async (part: 'head' | 'tail', feeds: Record<string, ort.Tensor>) => {
    // onnxruntime's own run time: a worker session's hops count as the request's overhead, not as compute.
    const run: RunStats = {};
    const out = await ctx.models.runAll(req.model, part, cut, feeds, { threads }, run);
    const hostMs = run.computeMs ?? 0;
    waitMs += run.waitMs ?? 0;
    const ms = await ctx.hardware.dilate(hostMs, setting, flops[part]);
    if (ctx.hardware.emulated) edgeUnemulatedMs += Math.max(0, hostMs - ms);
    return { out, ms };
  };
  if (cut === EDGE_ONLY_CUT) {
    const head = await onEdge(() => compute('head', req.inputs));
    return local(head.out, head.ms, { reconfigureMs, unemulatedMs: edgeUnemulatedMs, waitMs, edgeFallback: false });
  }
  const { head, tensors, encodeMs } = await onEdge(async () => {
    const head = cut === 'input' ? { out: req.inputs, ms: 0 } : await compute('head', req.inputs);
    const encodeStart = performance.now();
    const tensors = encodeAll(head.out, crossing(ctx.models, req.model, cut), codecFromName(codec || 'fp32'));
    return { head, tensors, encodeMs: performance.now() - encodeStart };
  });
  const tensorBytes = tensors.reduce((sum, t) => sum + (t.data?.length ?? 0), 0);
  // An emulated clock: host time beyond the emulated device's own (a Coral head computed on the host)
  // is no time of the emulated request, so it moves the deadline the cloud and the wait are held to.
  const deadlineAtMs = req.deadlineAtMs + edgeUnemulatedMs;
  const timeoutMs = cloudWaitMs(deadlineAtMs - ctx.now(), ctx.tailEstimateMs(req.model, cut) || priorTailMs(head.ms, partFlops(ctx.models, req.model, cut)), ctx.minCloudWaitMs);
  const sentAt = performance.now();
  try {
    const reply = await ctx.transport.request({
      request_id: req.requestId,
      model: req.model,
      cut,
      tensor: tensors[0],
      more_tensors: tensors.slice(1),
      model_fingerprint: ctx.models.get(req.model).fingerprint,
      deadline_at_ms: deadlineAtMs,
      edge_id: ctx.edgeId,
      sent_at_ms: ctx.now(),
      cloud_accelerator: config.cloud_accelerator ?? '',
    }, { timeoutMs });
    const roundTrip = performance.now() - sentAt;
    const failed = replyError(reply);
    if (failed) throw failed;
    const outputs = replyOutputs(reply, ctx.models.get(req.model).outputs.map((o) => o.name));
    const cloudMs = reply.queue_ms + reply.decode_ms + reply.compute_ms + reply.encode_ms;
    return {
      outputs,
      cutTensors: head.out,
      edgeComputeMs: head.ms,
      encodeMs,
      transferMs: Math.max(0, roundTrip - cloudMs - reply.unemulated_ms),
      roundTripMs: roundTrip,
      unemulatedMs: edgeUnemulatedMs + reply.unemulated_ms,
      cloudQueueMs: reply.queue_ms,
      cloudDecodeMs: reply.decode_ms,
      cloudEncodeMs: reply.encode_ms,
      cloudComputeMs: reply.compute_ms,
      reconfigureMs,
      waitMs,
      tensorBytes,
      workerId: reply.worker_id,
      edgeFallback: false,
      cloudEnergyJ: reply.energy_j,
      cloudEnergySource: reply.energy_source,
      cloudLatencySource: reply.latency_source,
    };
  } catch (err) {
    if (!isDynasplitError(err)) throw err;
    // The cloud did not deliver: finish on the edge from the (unencoded) cut tensor.
    const waited = performance.now() - sentAt;
    const tail = await onEdge(() => compute('tail', head.out));
    ctx.recordTail(req.model, cut, tail.ms);
    return local(tail.out, head.ms + tail.ms, {
      reconfigureMs, unemulatedMs: edgeUnemulatedMs, waitMs, edgeFallback: true, fallbackCode: err.code, fallbackMessage: err.message,
      fallbackWorkerId: typeof err.details.workerId === 'string' ? err.details.workerId : '', encodeMs, transferMs: waited, roundTripMs: waited, tensorBytes,
    });
  }
}

/**
 * The tail's time before any fallback has measured it: the head's, scaled by the FLOPs on either side
 * of the cut (0 where the head did no counted work).
 */
export function priorTailMs(headMs: number, flops: { head: number; tail: number }): number {
  return flops.head > 0 ? (headMs * flops.tail) / flops.head : 0;
}

/** FLOPs of the head and the tail of a model cut at `cut`. */
export function partFlops(models: ModelStore, model: string, cut: string): { head: number; tail: number } {
  const { inspection } = models.get(model);
  const info = cut === 'input' ? inspection.input : cut === 'output' ? inspection.output : inspection.cutPoints.find((c) => c.name === cut);
  return { head: info?.flopsBefore ?? inspection.flops, tail: info?.flopsAfter ?? inspection.flops };
}

/** The tensors crossing a cut, in order: every model input for cloud-only, else the cut tensor. */
function crossing(models: ModelStore, model: string, cut: string): string[] {
  return cut === 'input' ? models.get(model).inputs.map((i) => i.name) : [cut];
}

function encodeAll(tensors: Record<string, ort.Tensor>, names: string[], codec: Codec): TensorProperties[] {
  return names.map((name) => {
    const t = tensors[name];
    if (!t) throw new DynasplitError(ErrorCodes.INFERENCE, `tensor '${name}' to send was not computed`, { details: { tensor: name } });
    return encodeTensor({ name, shape: [...t.dims], data: t.data as Float32Array }, codec);
  });
}

/** A reply's outputs (`output`, then `more_outputs`) by the model's output names, in the model's order. */
function replyOutputs(reply: TailReply, names: string[]): Record<string, ort.Tensor> {
  const sent = reply.output ? [reply.output, ...(reply.more_outputs ?? [])] : [];
  if (sent.length !== names.length) {
    throw new DynasplitError(ErrorCodes.TRANSPORT, `cloud worker ${reply.worker_id} sent ${sent.length} outputs; the model has ${names.length}`);
  }
  return Object.fromEntries(sent.map((message, i) => {
    const t = decodeTensor(message);
    return [names[i], new ort.Tensor('float32', t.data, t.shape)];
  }));
}

/** What an outcome the edge computed itself says besides its outputs (the cloud's fields are all 0 or ''). */
type LocalFields = Pick<Outcome, 'reconfigureMs' | 'unemulatedMs' | 'waitMs' | 'edgeFallback' | 'fallbackCode' | 'fallbackMessage' | 'fallbackWorkerId'>
  & Partial<Pick<Outcome, 'encodeMs' | 'transferMs' | 'roundTripMs' | 'tensorBytes'>>;

/**
 * The outcome of an edge-only request, or of a fallback. One literal, as every outcome here: an object
 * spread followed by fields it lacks takes V8's slow path (~2 µs a request in Node 20; docs/performance.md).
 */
function local(outputs: Record<string, ort.Tensor>, computeMs: number, f: LocalFields): Outcome {
  return {
    outputs, edgeComputeMs: computeMs, encodeMs: f.encodeMs ?? 0, transferMs: f.transferMs ?? 0, roundTripMs: f.roundTripMs ?? 0, unemulatedMs: f.unemulatedMs,
    cloudQueueMs: 0, cloudDecodeMs: 0, cloudEncodeMs: 0, cloudComputeMs: 0, reconfigureMs: f.reconfigureMs, waitMs: f.waitMs, tensorBytes: f.tensorBytes ?? 0,
    workerId: '', edgeFallback: f.edgeFallback, fallbackCode: f.fallbackCode, fallbackMessage: f.fallbackMessage, fallbackWorkerId: f.fallbackWorkerId, cloudEnergyJ: 0, cloudEnergySource: '', cloudLatencySource: '',
  };
}
