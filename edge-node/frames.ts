/**
 * Admission of a frame: decode, validate, and turn its inputs into the model's input tensors (an
 * image preprocessed as the model card says). Every way a frame can be wrong ends in a coded error
 * that the node answers on the sensor's result topic.
 */
import * as ort from 'onnxruntime-node';
import { CODEC_NAMES, decodeTensor, firstNonFinite } from '../codec/index.ts';
import { DynasplitError, ErrorCodes, isDynasplitError } from '../common/index.ts';
import { preprocessImage } from '../image/index.ts';
import { cutRefusal, type ModelStore, type ServedModel, type TensorDesc } from '../model/index.ts';
import { ModelCards, type ServedCard } from '../node-runtime/index.ts';
import { configuration, type Entry } from '../policy/index.ts';
import { Frame, peekStringField, type ConfigurationProperties, type FrameLimits, type TensorProperties } from '../schemas/index.ts';
import { checkFrameNumbers, checkFrameWire } from './frame-limits.ts';

export interface Admitted {
  key: string;
  requestId: string;
  sensorId: string;
  model: string;
  budgetMs: number;
  captureAtMs: number;
  /** Absolute deadline, ms since the epoch. */
  deadlineAtMs: number;
  accuracyFloor: number;
  /** Every input of the model, by name. */
  inputs: Record<string, ort.Tensor>;
  /** The model's card: what its outputs mean. */
  card: ServedCard;
  preprocessMs: number;
  /** A configuration the frame asks for (profiling), checked against the model; else the policy decides. */
  forced?: Entry;
}

/** What is known of a frame before it is decoded: enough to address an error result (each field within its limit). */
export interface FrameOrigin { sensorId: string; requestId: string; model: string; budgetMs: number }

/** A frame taken off the wire: decoded and within every limit, or the coded error that refuses it; `origin` addresses the answer either way. */
export type Taken = { frame: Frame; origin: FrameOrigin; error?: undefined } | { frame?: undefined; origin: FrameOrigin; error: DynasplitError };

export interface TakeOptions {
  maxBytes: number;
  limits: FrameLimits;
  /** ms since the epoch */
  nowMs: number;
  /** Whether the frame came on the control channel (or from the journal, which holds only frames taken): only then may it force a configuration. */
  control: boolean;
}

/**
 * Size, then every field's limit on the wire bytes (before protobufjs allocates anything the sender
 * sized), then decoding, then the numbers and the privilege to force a configuration. Never throws.
 */
export function takeFrame(sensorId: string, payload: Uint8Array, options: TakeOptions): Taken {
  const origin: FrameOrigin = { sensorId, requestId: '', model: '', budgetMs: 0 };
  try {
    // Too large to look through, but a sender writes the request id first (field 1): the refusal
    // names its request when it is there, so the sensor is answered instead of waiting.
    if (payload.length > options.maxBytes) origin.requestId = peekStringField(payload, 1, 1);
    checkSize(payload, options.maxBytes);
    const wire = checkFrameWire(payload, options.limits);
    origin.requestId = wire.requestId;
    if (wire.violation) throw wire.violation;
    const frame = decodeFrame(payload, options.maxBytes);
    origin.model = frame.model;
    if (Number.isFinite(frame.budget_ms)) origin.budgetMs = frame.budget_ms;
    checkFrameNumbers(frame, options.limits, options.nowMs);
    if (frame.configuration && !options.control) {
      throw new DynasplitError(ErrorCodes.FORBIDDEN,
        'a frame may force a configuration only on the control channel (dynasplit/v1/control-frames/SENSOR, optimizer role)', { details: { field: 'configuration' } });
    }
    return { frame, origin };
  } catch (err) {
    return { origin, error: isDynasplitError(err) ? err : new DynasplitError(ErrorCodes.INTERNAL, `frame could not be taken: ${(err as Error)?.message}`, { cause: err }) };
  }
}

/** Size, then protobuf decoding (no field limits: takeFrame checks those first). */
export function decodeFrame(payload: Uint8Array, maxBytes: number): Frame {
  checkSize(payload, maxBytes);
  try {
    return Frame.decode(payload);
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.BAD_FRAME, `frame cannot be decoded: ${(cause as Error).message}`, { cause });
  }
}

function checkSize(payload: Uint8Array, maxBytes: number): void {
  if (payload.length > maxBytes) {
    throw new DynasplitError(ErrorCodes.PAYLOAD_TOO_LARGE, `frame of ${payload.length} bytes exceeds the limit of ${maxBytes}`, {
      details: { bytes: payload.length, limit: maxBytes },
    });
  }
}

const NO_CARDS = new ModelCards();

/** `cards`: the node's model cards (a model without one is served with the default card). */
export async function admit(frame: Frame, sensorId: string, models: ModelStore, nowMs: number, cards = NO_CARDS): Promise<Admitted> {
  if (!frame.request_id) throw badFrame('frame has no request_id');
  if (frame.sensor_id && frame.sensor_id !== sensorId) throw badFrame(`frame from topic of sensor '${sensorId}' claims sensor '${frame.sensor_id}'`);
  if (!(frame.budget_ms > 0) || !Number.isFinite(frame.budget_ms)) throw badFrame(`budget_ms must be a positive number, got ${frame.budget_ms}`);
  if (!(frame.capture_at_ms > 0) || !Number.isFinite(frame.capture_at_ms)) throw badFrame('capture_at_ms must be a positive timestamp');
  const served = models.get(frame.model);
  const deadlineAtMs = frame.capture_at_ms + frame.budget_ms;
  if (deadlineAtMs <= nowMs) {
    throw new DynasplitError(ErrorCodes.EXPIRED,
      `budget of ${frame.budget_ms} ms had run out ${(nowMs - deadlineAtMs).toFixed(1)} ms before the edge node came to start the frame (its way here, its wait in the queue or a restart took it; or the sensor's clock is behind this node's by that much)`,
      { details: { budgetMs: frame.budget_ms } });
  }
  const forced = frame.configuration?.cut ? forcedEntry(frame.configuration, served) : undefined;
  const card = cards.get(served.name, served.inputs);
  const started = performance.now();
  const inputs = await inputTensors(frame, served, card);
  return {
    key: `${sensorId}/${frame.request_id}`,
    requestId: frame.request_id,
    sensorId,
    model: frame.model,
    budgetMs: frame.budget_ms,
    captureAtMs: frame.capture_at_ms,
    deadlineAtMs,
    accuracyFloor: frame.accuracy_floor,
    inputs,
    card,
    preprocessMs: performance.now() - started,
    forced,
  };
}

function forcedEntry(requested: ConfigurationProperties, served: ServedModel): Entry {
  const cut = requested.cut!;
  if (!served.cuts.includes(cut)) {
    throw new DynasplitError(ErrorCodes.UNKNOWN_CUT, `frame asks for a cut the pipeline cannot use: ${cutRefusal(served.inspection.nonFloatCutPoints, served.name, cut)}`, { details: { cut } });
  }
  const codec = requested.codec || (cut === 'output' ? '' : 'fp32');
  if (codec && !(CODEC_NAMES as readonly string[]).includes(codec)) throw badFrame(`frame asks for unknown codec '${codec}'`);
  return { configuration: configuration({ ...requested, cut, codec }), latencyMs: 0, latencyP95Ms: 0, energyJ: 0, accuracy: 0 };
}

/**
 * The model's inputs from a frame: `tensor` feeds the input its name names (any name, for a model
 * with one input), else the card's image input; `image` is preprocessed for the card's image input;
 * `inputs` feed the inputs they name. Every input exactly once, or DYNASPLIT_ERR_BAD_INPUT naming it.
 */
async function inputTensors(frame: Frame, served: ServedModel, card: ServedCard): Promise<Record<string, ort.Tensor>> {
  const byName = new Map(served.inputs.map((d) => [d.name, d]));
  const feeds: Record<string, ort.Tensor> = {};
  const put = (desc: TensorDesc, tensor: ort.Tensor) => {
    if (desc.name in feeds) throw badInput(desc.name, `frame gives input '${desc.name}' of ${served.name} twice`);
    feeds[desc.name] = tensor;
  };
  if (frame.tensor) {
    const named = served.inputs.length === 1 ? served.inputs[0] : byName.get(frame.tensor.name ?? '') ?? byName.get(card.image?.tensor ?? '') ?? served.inputs[0];
    put(named, checkedTensor(frame.tensor, named, served.name));
  } else if (frame.image?.data?.length) {
    const image = card.image;
    if (!image) throw badFrame(`${served.name} takes input [${served.inputShape.join(', ')}], not an RGB image`);
    put(byName.get(image.tensor)!, new ort.Tensor('float32', await preprocessImage(frame.image.data, image.preprocess), image.shape));
  }
  for (const t of frame.inputs ?? []) {
    const desc = byName.get(t.name ?? '');
    if (!desc) throw badInput(t.name ?? '', `frame input '${t.name}' is not an input of ${served.name} (inputs: ${[...byName.keys()].join(', ')})`);
    put(desc, checkedTensor(t, desc, served.name));
  }
  if (Object.keys(feeds).length === 0) throw badFrame('frame carries neither a tensor nor an image');
  const missing = served.inputs.find((d) => !(d.name in feeds));
  if (missing) throw badInput(missing.name, `${served.name} needs input '${missing.name}' [${missing.shape.join(', ')}], which the frame does not carry`);
  return feeds;
}

function checkedTensor(message: TensorProperties, desc: TensorDesc, model: string): ort.Tensor {
  const tensor = decodeTensor(message);
  const { shape } = desc;
  if (tensor.shape.length !== shape.length || tensor.shape.some((d, i) => d !== shape[i])) {
    throw badInput(desc.name, `input '${desc.name}' of ${model} must have shape [${shape.join(', ')}], got [${tensor.shape.join(', ')}]`);
  }
  // A NaN or an Infinity would run, and come back as a class with NaN scores under one configuration
  // and as an 8-bit codec's error at a cut tensor under another.
  const bad = firstNonFinite(tensor.data);
  if (bad >= 0) throw badInput(desc.name, `input '${desc.name}' of ${model}: element ${bad} is ${tensor.data[bad]}; inputs must be finite`);
  return new ort.Tensor('float32', tensor.data, shape);
}

function badInput(tensor: string, message: string): DynasplitError {
  return new DynasplitError(ErrorCodes.BAD_INPUT, message, { details: { tensor } });
}

function badFrame(message: string): DynasplitError {
  return new DynasplitError(ErrorCodes.BAD_FRAME, message);
}
