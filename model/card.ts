/**
 * A model card: what a model needs around it that the ONNX file does not say. Its symbolic dims, how
 * an image becomes its input (resize, crop, scale, mean/std, layout, colour order) and what its
 * outputs mean (classification top-k with optional labels, or raw tensors returned as they are).
 * Read from `NAME.card.json` beside `NAME.onnx` (card-load.ts); a model without one gets the default
 * card, which is how zoo models have always been served. Parsing is pure and strict: an unknown
 * field or a wrong value is a DYNASPLIT_ERR_BAD_MODEL_CARD naming the field.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { INTERPOLATIONS, UNIT_SCALE, type ColorOrder, type ImageLayout, type Interpolation } from '../image/index.ts';

/** [height, width], pixels. */
export type Size2 = readonly [number, number];

export interface CardInput {
  /** The model input the image feeds; default the first input. */
  tensor?: string;
  /** Resize before the crop: shorter side to N (torchvision Resize(N)), or exactly [height, width]; default: cover the crop. */
  resize?: number | Size2;
  /** Centre crop, N or [height, width]; it must be the model input's size; default that size. */
  crop?: number | Size2;
  /** How the resize samples: torchvision's InterpolationMode name; default 'bilinear', as torchvision's Resize. */
  interpolation?: Interpolation;
  /**
   * Per channel, in the model's channel order: 3 numbers for an RGB input, 1 for a grayscale one.
   * Default: ImageNet's for RGB, none (mean 0, std 1: the scaled pixels) for grayscale.
   */
  mean?: readonly number[];
  std?: readonly number[];
  /** Multiplies 0..255 pixel values before mean/std. */
  scale: number;
  layout: ImageLayout;
  colorOrder: ColorOrder;
}

export type CardOutput =
  | {
    kind: 'classification';
    /** The output holding the logits; default the first output. */
    tensor?: string;
    /** Classes reported per result. */
    topK: number;
    /** Labels file as written in the card (one label per line, line i = class i). */
    labels?: string;
    /**
     * What the output holds: 'logits' (default) are reported as their softmax; 'probabilities' (the
     * graph already ends in a Softmax, as PaddleOCR's classifier does) as they are, not softmaxed twice.
     */
    scores?: ClassScores;
  }
  /** Every output returned as it is. */
  | { kind: 'raw' };

export interface ModelCard {
  /** Values of the model's symbolic dims (a --dim of the same name wins). */
  dims: Record<string, number>;
  input: CardInput;
  output: CardOutput;
}

export type ClassScores = 'logits' | 'probabilities';

/** Classes a classification result reports unless the card says otherwise. */
export const DEFAULT_TOP_K = 5;

/** The card of a model that has none: ImageNet preprocessing at the model's size, top-5 classes. */
export const DEFAULT_CARD: ModelCard = Object.freeze({
  dims: {},
  input: { scale: UNIT_SCALE, layout: 'NCHW', colorOrder: 'RGB' },
  output: { kind: 'classification', topK: DEFAULT_TOP_K },
}) as ModelCard;

type Json = Record<string, unknown>;

/** Channels an image input may have: grayscale or RGB. */
const CHANNEL_COUNTS = [1, 3] as const;

/** Validates a parsed card (`source` names it in errors); missing fields take the default card's. */
export function parseModelCard(value: unknown, source: string): ModelCard {
  const at = new Fields(source);
  const root = at.object(value, '', ['dims', 'input', 'output']);
  return {
    dims: parseDims(at, root.dims),
    input: parseInput(at, root.input),
    output: parseOutput(at, root.output),
  };
}

function parseDims(at: Fields, value: unknown): Record<string, number> {
  if (value === undefined) return {};
  const dims = at.object(value, 'dims');
  return Object.fromEntries(Object.entries(dims).map(([name, v]) => [name, at.positiveInt(v, `dims.${name}`)]));
}

function parseInput(at: Fields, value: unknown): CardInput {
  const d = DEFAULT_CARD.input;
  if (value === undefined) return d;
  const o = at.object(value, 'input', ['tensor', 'resize', 'crop', 'interpolation', 'mean', 'std', 'scale', 'layout', 'colorOrder']);
  const input: CardInput = {
    scale: o.scale === undefined ? d.scale : at.positive(o.scale, 'input.scale'),
    layout: o.layout === undefined ? d.layout : at.oneOf(o.layout, 'input.layout', ['NCHW', 'NHWC']),
    colorOrder: o.colorOrder === undefined ? d.colorOrder : at.oneOf(o.colorOrder, 'input.colorOrder', ['RGB', 'BGR']),
  };
  if (o.mean !== undefined) input.mean = at.numbers(o.mean, 'input.mean', CHANNEL_COUNTS);
  if (o.std !== undefined) input.std = at.numbers(o.std, 'input.std', CHANNEL_COUNTS, true);
  if (input.mean && input.std && input.mean.length !== input.std.length) {
    at.fail('input.std', `has ${input.std.length} numbers and input.mean ${input.mean.length}: one per channel each`);
  }
  if (o.tensor !== undefined) input.tensor = at.string(o.tensor, 'input.tensor');
  if (o.resize !== undefined) input.resize = at.size(o.resize, 'input.resize');
  if (o.crop !== undefined) input.crop = at.size(o.crop, 'input.crop');
  if (o.interpolation !== undefined) input.interpolation = at.oneOf(o.interpolation, 'input.interpolation', INTERPOLATIONS);
  if (typeof input.resize === 'object' && input.crop !== undefined) {
    const [ch, cw] = asPair(input.crop);
    if (input.resize[0] < ch || input.resize[1] < cw) at.fail('input.resize', `[${input.resize.join(', ')}] is smaller than the crop [${ch}, ${cw}]`);
  }
  if (typeof input.resize === 'number' && input.crop !== undefined && input.resize < Math.min(...asPair(input.crop))) {
    at.fail('input.resize', `${input.resize} is smaller than the crop`);
  }
  return input;
}

function parseOutput(at: Fields, value: unknown): CardOutput {
  if (value === undefined) return DEFAULT_CARD.output;
  const o = at.object(value, 'output', ['kind', 'tensor', 'topK', 'labels', 'scores']);
  const kind = at.oneOf(o.kind, 'output.kind', ['classification', 'raw']);
  if (kind === 'raw') {
    const extra = ['tensor', 'topK', 'labels', 'scores'].find((k) => o[k] !== undefined);
    if (extra) at.fail(`output.${extra}`, 'applies to "classification" outputs only; "raw" returns every output as it is');
    return { kind };
  }
  const output: CardOutput = { kind, topK: o.topK === undefined ? DEFAULT_TOP_K : at.positiveInt(o.topK, 'output.topK') };
  if (o.tensor !== undefined) output.tensor = at.string(o.tensor, 'output.tensor');
  if (o.labels !== undefined) output.labels = at.string(o.labels, 'output.labels');
  if (o.scores !== undefined) output.scores = at.oneOf<ClassScores>(o.scores, 'output.scores', ['logits', 'probabilities']);
  return output;
}

/** N or [h, w] as [h, w]. */
export function asPair(size: number | Size2): Size2 {
  return typeof size === 'number' ? [size, size] : size;
}

/** Typed reads of JSON fields that throw BAD_MODEL_CARD naming the card and the field. */
class Fields {
  constructor(readonly source: string) {}

  fail(field: string, message: string): never {
    throw new DynasplitError(ErrorCodes.BAD_MODEL_CARD, `${this.source}: ${field || 'the card'} ${message}`, {
      details: { file: this.source, field },
    });
  }

  object(v: unknown, field: string, known?: string[]): Json {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'must be an object');
    const o = v as Json;
    const unknown = known && Object.keys(o).find((k) => !known.includes(k));
    if (unknown) this.fail(field ? `${field}.${unknown}` : unknown, `is not a card field (known: ${known.join(', ')})`);
    return o;
  }

  string(v: unknown, field: string): string {
    if (typeof v !== 'string' || v === '') this.fail(field, 'must be a non-empty string');
    return v;
  }

  positive(v: unknown, field: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(field, `must be a number > 0, got ${JSON.stringify(v)}`);
    return v;
  }

  positiveInt(v: unknown, field: string): number {
    if (!Number.isInteger(v) || (v as number) < 1) this.fail(field, `must be an integer >= 1, got ${JSON.stringify(v)}`);
    return v as number;
  }

  numbers(v: unknown, field: string, lengths: readonly number[], positive = false): number[] {
    const ok = Array.isArray(v) && lengths.includes(v.length) && v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0));
    if (!ok) this.fail(field, `must be ${lengths.join(' or ')} ${positive ? 'positive ' : ''}numbers (one per channel), got ${JSON.stringify(v)}`);
    return v as number[];
  }

  size(v: unknown, field: string): number | Size2 {
    if (Array.isArray(v)) {
      if (v.length !== 2) this.fail(field, `must be N or [height, width], got ${JSON.stringify(v)}`);
      return [this.positiveInt(v[0], `${field}[0]`), this.positiveInt(v[1], `${field}[1]`)];
    }
    return this.positiveInt(v, field);
  }

  oneOf<T extends string>(v: unknown, field: string, values: readonly T[]): T {
    if (!values.includes(v as T)) this.fail(field, `must be one of ${values.map((x) => `"${x}"`).join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  }
}
