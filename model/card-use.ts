/**
 * Applying a model card to the model it describes: which input an image feeds and how to
 * preprocess it for that input's shape, and what the outputs mean. Pure; checked once when the
 * model is loaded (checkCard) so that serving never meets a card that does not fit its model.
 */
import type * as ort from 'onnxruntime-node';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { IMAGENET_MEAN, IMAGENET_STD, type PreprocessOptions } from '../image/index.ts';
import { asPair, type CardInput } from './card.ts';
import type { LoadedCard } from './card-load.ts';
import type { ModelInspection, TensorDesc } from './inspect.ts';
import { topK, type Prediction } from './topk.ts';

export interface ImageInput {
  /** The model input the image becomes. */
  tensor: string;
  /** Its shape: [1, C, H, W] (NCHW) or [1, H, W, C] (NHWC), C 3 (RGB) or 1 (grayscale). */
  shape: number[];
  preprocess: PreprocessOptions;
}

export type LabelledPrediction = Prediction & { label?: string };

/** What a model's outputs mean, by its card. */
export type ModelAnswer =
  | { kind: 'classification'; tensor: string; predictions: LabelledPrediction[] }
  | { kind: 'raw'; tensors: Record<string, ort.Tensor> };

function cardError(loaded: LoadedCard, field: string, message: string): DynasplitError {
  const file = loaded.source ?? '(default model card)';
  return new DynasplitError(ErrorCodes.BAD_MODEL_CARD, `${file}: ${field} ${message}`, { details: { file, field } });
}

/** The channels of an image `desc` takes in `layout`: 3 (RGB) or 1 (grayscale); undefined when it is no float32 4-D image input. */
function imageChannels(desc: TensorDesc, layout: CardInput['layout']): 1 | 3 | undefined {
  const channels = layout === 'NHWC' ? desc.shape[3] : desc.shape[1];
  return desc.dtype === 'float32' && desc.shape.length === 4 && (channels === 1 || channels === 3) ? channels : undefined;
}

/**
 * The input an image feeds, or undefined for a model that takes no image: its first input is not a
 * float32 RGB or grayscale image and its card does not describe one (no `input` section, or no
 * card). Such a model is served to frames that carry tensors (a sensor's readings, a feature
 * vector). A card that describes its input must fit the model (imageInputFor's errors).
 */
export function imageInputOf(loaded: LoadedCard, inputs: readonly TensorDesc[]): ImageInput | undefined {
  if (!loaded.describesInput && imageChannels(inputs[0], loaded.card.input.layout) === undefined) return undefined;
  return imageInputFor(loaded, inputs);
}

/** The input an image feeds and how to make it, for the model's bound input shapes. */
export function imageInputFor(loaded: LoadedCard, inputs: readonly TensorDesc[]): ImageInput {
  const spec = loaded.card.input;
  const desc = spec.tensor === undefined ? inputs[0] : inputs.find((i) => i.name === spec.tensor);
  if (!desc) throw cardError(loaded, 'input.tensor', `names no input of the model (inputs: ${inputs.map((i) => i.name).join(', ')})`);
  const { shape } = desc;
  const channels = imageChannels(desc, spec.layout);
  if (channels === undefined) {
    throw cardError(loaded, 'input.layout', `is ${spec.layout}, but input '${desc.name}' is ${desc.dtype}[${shape.join(', ')}], not a float32 ${spec.layout} image with 3 channels (RGB) or 1 (grayscale)`);
  }
  for (const field of ['mean', 'std'] as const) {
    const given = spec[field];
    if (given && given.length !== channels) {
      throw cardError(loaded, `input.${field}`, `has ${given.length} numbers, but input '${desc.name}' has ${channels} channel${channels === 1 ? '' : 's'}: one number per channel`);
    }
  }
  const [height, width] = spec.layout === 'NHWC' ? [shape[1], shape[2]] : [shape[2], shape[3]];
  if (spec.crop !== undefined) {
    const [ch, cw] = asPair(spec.crop);
    if (ch !== height || cw !== width) throw cardError(loaded, 'input.crop', `[${ch}, ${cw}] is not the size of input '${desc.name}' [${height}, ${width}]`);
  }
  return {
    tensor: desc.name,
    shape,
    preprocess: {
      height, width, channels, resize: spec.resize, interpolation: spec.interpolation, scale: spec.scale, layout: spec.layout, colorOrder: spec.colorOrder,
      // ImageNet's statistics unless the card gives its own; a grayscale input has no such default (the scaled pixels).
      mean: spec.mean ?? (channels === 3 ? IMAGENET_MEAN : [0]),
      std: spec.std ?? (channels === 3 ? IMAGENET_STD : [1]),
    },
  };
}

/** Checks a card against the model it describes (its inspection, with the card's dims bound). */
export function checkCard(loaded: LoadedCard, inspection: Pick<ModelInspection, 'inputs' | 'outputs'>): void {
  imageInputOf(loaded, inspection.inputs);
  const out = loaded.card.output;
  if (out.kind !== 'classification') return;
  const desc = out.tensor === undefined ? inspection.outputs[0] : inspection.outputs.find((o) => o.name === out.tensor);
  if (!desc) throw cardError(loaded, 'output.tensor', `names no output of the model (outputs: ${inspection.outputs.map((o) => o.name).join(', ')})`);
  const classes = desc.shape.slice(1).reduce((a, b) => a * b, 1);
  if (desc.dtype !== 'float32') {
    // A model that outputs its class index (an ArgMax in the graph) often outputs the scores too.
    const scores = inspection.outputs.find((o) => o.dtype === 'float32' && o.shape.slice(1).reduce((a, b) => a * b, 1) >= 2);
    const instead = scores ? `, or name its scores: "output": { "tensor": "${scores.name}" }` : '';
    throw cardError(loaded, 'output.kind', `is "classification", but output '${desc.name}' is ${desc.dtype}; use "raw"${instead}`);
  }
  if (classes < 2) {
    // The top-1 of one value is always class 0: a regression or sigmoid output is no classification.
    const how = loaded.source === undefined ? ' (a card file beside the model, NAME.card.json)' : '';
    throw cardError(loaded, 'output.kind', `is "classification", but output '${desc.name}' holds ${classes} value${classes === 1 ? '' : 's'} per sample, no classes to rank; use "raw"${how}: "output": { "kind": "raw" }`);
  }
  if (loaded.labels && loaded.labels.length !== classes) {
    throw cardError(loaded, 'output.labels', `has ${loaded.labels.length} labels for the ${classes} classes of output '${desc.name}'`);
  }
}

/** The meaning of a model's outputs (every output of the model, by name) for one sample. */
export function interpretOutputs(loaded: LoadedCard, outputs: Record<string, ort.Tensor>): ModelAnswer {
  const out = loaded.card.output;
  if (out.kind === 'raw') return { kind: 'raw', tensors: outputs };
  const tensor = out.tensor ?? Object.keys(outputs)[0];
  const logits = outputs[tensor];
  if (!logits || logits.type !== 'float32') throw cardError(loaded, 'output.tensor', `'${tensor}' is not a float32 output of this run`);
  const predictions = topK(logits.data as Float32Array, out.topK, out.scores !== 'probabilities').map((p): LabelledPrediction =>
    (loaded.labels ? { ...p, label: loaded.labels[p.index] } : p));
  // Finite inputs can still overflow a model (values near float32's largest): no class to report.
  if (predictions.some((p) => Number.isNaN(p.score))) {
    throw new DynasplitError(ErrorCodes.INFERENCE, `output '${tensor}' is not finite for this input (NaN or Infinity): no class can be reported`, {
      details: { tensor },
    });
  }
  return { kind: 'classification', tensor, predictions };
}
