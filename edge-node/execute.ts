/**
 * Runs one admitted request under one configuration: head on the edge, the cut tensor to a cloud
 * worker through the TensorTransport, the tail there. When the cloud does not answer in time (or
 * answers with an error) the edge runs the tail itself, so the request still gets its answer.
 */
import * as ort from 'onnxruntime-node';
import { codecFromName, decodeTensor, encodeTensor } from '../codec/index.ts';
import { DynasplitError, ErrorCodes, isDynasplitError } from '../common/index.ts';
import type { ModelStore } from '../model/index.ts';
import { EDGE_ONLY_CUT, type Entry } from '../policy/index.ts';
import type { TensorTransport } from '../transport/index.ts';
import type { Admitted } from './frames.ts';

export interface Outcome {
  logits: Float32Array;
  edgeComputeMs: number;
  encodeMs: number;
  transferMs: number;
  cloudQueueMs: number;
  cloudComputeMs: number;
  tensorBytes: number;
  workerId: string;
  edgeFallback: boolean;
  /** Why the cloud's answer was not used, when it was not. */
  fallbackCode?: string;
}

export interface ExecuteContext {
  models: ModelStore;
  transport: TensorTransport;
  edgeId: string;
  threads: number;
  minCloudWaitMs: number;
  /** Expected ms to run the tail on the edge, so the cloud's wait leaves room for a fallback. */
  tailEstimateMs(model: string, cut: string): number;
  recordTail(model: string, cut: string, ms: number): void;
}

export async function execute(req: Admitted, entry: Entry, ctx: ExecuteContext): Promise<Outcome> {
  const { cut, codec } = entry.configuration;
  const runOptions = { threads: ctx.threads };
  const started = performance.now();
  if (cut === EDGE_ONLY_CUT) {
    const out = await ctx.models.run(req.model, 'head', cut, req.input, runOptions);
    return { ...local(out, performance.now() - started), edgeFallback: false };
  }
  const cutTensor = cut === 'input' ? req.input : await ctx.models.run(req.model, 'head', cut, req.input, runOptions);
  const headMs = performance.now() - started;
  const encodeStart = performance.now();
  const tensor = encodeTensor({ name: cut, shape: [...cutTensor.dims], data: cutTensor.data as Float32Array }, codecFromName(codec || 'fp32'));
  const encodeMs = performance.now() - encodeStart;
  const tensorBytes = tensor.data.length;
  const timeoutMs = Math.max(ctx.minCloudWaitMs, req.deadlineAtMs - Date.now() - ctx.tailEstimateMs(req.model, cut));
  const sentAt = performance.now();
  try {
    const reply = await ctx.transport.request({
      request_id: req.requestId,
      model: req.model,
      cut,
      tensor,
      deadline_at_ms: req.deadlineAtMs,
      edge_id: ctx.edgeId,
      sent_at_ms: Date.now(),
      cloud_accelerator: entry.configuration.cloud_accelerator ?? '',
    }, { timeoutMs });
    const roundTrip = performance.now() - sentAt;
    if (reply.error?.code) {
      throw new DynasplitError(reply.error.code as never, `cloud worker ${reply.worker_id}: ${reply.error.message}`, { retryable: reply.error.retryable === true });
    }
    if (!reply.output) throw new DynasplitError(ErrorCodes.TRANSPORT, `cloud worker ${reply.worker_id} sent no output`);
    const cloudMs = reply.queue_ms + reply.decode_ms + reply.compute_ms + reply.encode_ms;
    return {
      logits: decodeTensor(reply.output).data,
      edgeComputeMs: headMs,
      encodeMs,
      transferMs: Math.max(0, roundTrip - cloudMs),
      cloudQueueMs: reply.queue_ms,
      cloudComputeMs: reply.compute_ms,
      tensorBytes,
      workerId: reply.worker_id,
      edgeFallback: false,
    };
  } catch (err) {
    if (!isDynasplitError(err)) throw err;
    // The cloud did not deliver: finish on the edge from the (unencoded) cut tensor.
    const tailStart = performance.now();
    const out = await ctx.models.run(req.model, 'tail', cut, cutTensor, runOptions);
    const tailMs = performance.now() - tailStart;
    ctx.recordTail(req.model, cut, tailMs);
    return {
      ...local(out, headMs + tailMs),
      encodeMs,
      transferMs: performance.now() - sentAt - tailMs,
      tensorBytes,
      edgeFallback: true,
      fallbackCode: err.code,
    };
  }
}

function local(out: ort.Tensor, computeMs: number): Omit<Outcome, 'edgeFallback'> {
  return {
    logits: out.data as Float32Array,
    edgeComputeMs: computeMs,
    encodeMs: 0,
    transferMs: 0,
    cloudQueueMs: 0,
    cloudComputeMs: 0,
    tensorBytes: 0,
    workerId: '',
  };
}
