/** Building the Result messages an edge node publishes: pure functions of what happened. */
import { encodeTensor } from '../codec/index.ts';
import { wallClockAt, wallClockMs } from '../common/index.ts';
import { interpretOutputs, type LoadedCard, type ModelAnswer } from '../model/index.ts';
import { floatTensor } from '../node-runtime/index.ts';
import type { Entry } from '../policy/index.ts';
import { MAX_ERROR_MESSAGE_CHARS, type ResultProperties } from '../schemas/index.ts';
import { errorInfo } from '../transport/index.ts';
import type { Outcome } from './execute.ts';
import type { Admitted } from './frames.ts';

/** `topK`: classes per result for a model without a card of its own (a card says its own). */
export interface ResultContext { edgeId: string; topK: number }

export interface Measured {
  /** performance.now() when the frame arrived at this node (Latency.frame_ms runs from the capture to there). */
  arrivedAt: number;
  /** ms from the arrival to the frame's compute slot (Outcome.waitMs adds the waits after it). */
  queueMs: number;
  /** performance.now() when the model's outputs were in hand (Latency.result_ms runs from there). */
  outputsAt: number;
  energy: NonNullable<ResultProperties['energy']>;
  /** 'measured', or 'emulated' when compute times were dilated to a device profile. */
  latencySource: string;
}

/**
 * ms by which a frame's capture stamp lies ahead of this node's clock at its arrival, beyond what two
 * processes' readings of one clock differ by (CLOCK_SLACK_MS); 0 when it does not.
 */
export function clockAheadMs(captureAtMs: number, arrivedAtWallMs: number): number {
  const ahead = captureAtMs - arrivedAtWallMs;
  return ahead > CLOCK_SLACK_MS ? ahead : 0;
}

/** ms of capture stamps ahead of the node's clock taken as the same clock read by two processes. */
export const CLOCK_SLACK_MS = 5;

export function successResult(req: Admitted, entry: Entry, outcome: Outcome, measured: Measured, ctx: ResultContext): ResultProperties {
  // Against the capture stamp, on the clock the sensor stamps it with (FrameClient: wallClockMs).
  // Date.now() is up to 1 ms behind it and made sub-millisecond requests end before they began. Two
  // processes' readings of it may still differ by a fraction of a millisecond: neither is below 0.
  const sinceCapture = (wallMs: number) => Math.max(0, wallMs - req.captureAtMs);
  const completedAt = wallClockMs();
  // A sensor whose clock runs ahead stamps frames in this node's future: the request took at least
  // its time here (from the frame's arrival), never 0 (the edge warns of the skew: clockAheadMs).
  const endToEnd = Math.max(sinceCapture(completedAt), completedAt - wallClockAt(measured.arrivedAt));
  const answer = interpretOutputs(withTopK(req.card.loaded, ctx.topK), outcome.outputs);
  return {
    request_id: req.requestId,
    sensor_id: req.sensorId,
    model: req.model,
    edge_id: ctx.edgeId,
    ...answerFields(answer),
    configuration: entry.configuration,
    latency: {
      frame_ms: sinceCapture(wallClockAt(measured.arrivedAt)),
      edge_queue_ms: measured.queueMs + outcome.waitMs,
      preprocess_ms: req.preprocessMs,
      edge_compute_ms: outcome.edgeComputeMs,
      encode_ms: outcome.encodeMs,
      transfer_ms: outcome.transferMs,
      cloud_queue_ms: outcome.cloudQueueMs,
      cloud_decode_ms: outcome.cloudDecodeMs,
      cloud_compute_ms: outcome.cloudComputeMs,
      cloud_encode_ms: outcome.cloudEncodeMs,
      end_to_end_ms: endToEnd,
      source: measured.latencySource,
      reconfigure_ms: outcome.reconfigureMs,
      result_ms: performance.now() - measured.outputsAt,
    },
    energy: measured.energy,
    budget_ms: req.budgetMs,
    budget_met: endToEnd <= req.budgetMs,
    edge_fallback: outcome.edgeFallback,
    completed_at_ms: completedAt,
    tensor_bytes: outcome.tensorBytes,
    worker_id: outcome.workerId,
  };
}

/** A model without a card file reports the node's topK classes. */
function withTopK(loaded: LoadedCard, topK: number): LoadedCard {
  const { output } = loaded.card;
  if (loaded.source !== undefined || output.kind !== 'classification') return loaded;
  return { ...loaded, card: { ...loaded.card, output: { ...output, topK } } };
}

/** Top-k classes (labelled when the card has labels), or every output as it is (fp32, named). */
function answerFields(answer: ModelAnswer): Pick<ResultProperties, 'class_index' | 'top_k' | 'outputs'> {
  if (answer.kind === 'classification') {
    return { class_index: answer.predictions[0].index, top_k: answer.predictions.map((p) => ({ index: p.index, score: p.score, label: p.label ?? '' })) };
  }
  return {
    outputs: Object.entries(answer.tensors).map(([name, t]) => encodeTensor(floatTensor(name, t), 'fp32')),
  };
}

export interface ErrorOrigin { sensorId: string; requestId: string; model: string; budgetMs: number }

export function errorResult(origin: ErrorOrigin, err: unknown, ctx: ResultContext): ResultProperties {
  return {
    request_id: origin.requestId,
    sensor_id: origin.sensorId,
    model: origin.model,
    edge_id: ctx.edgeId,
    budget_ms: origin.budgetMs,
    budget_met: false,
    error: bounded(errorInfo(err)),
    completed_at_ms: wallClockMs(),
  };
}

/** An error message echoes at most MAX_ERROR_MESSAGE_CHARS characters (fields are bounded already; this bounds what quotes them). */
function bounded(info: ReturnType<typeof errorInfo>): ReturnType<typeof errorInfo> {
  const message = info.message ?? '';
  return message.length <= MAX_ERROR_MESSAGE_CHARS ? info : { ...info, message: `${message.slice(0, MAX_ERROR_MESSAGE_CHARS)}...` };
}
