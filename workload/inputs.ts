/**
 * Seeded synthetic inputs: the one generator the sensor, the profiler, the testbed and the benchmarks
 * send, so the same (inputs, seed) gives the same tensors everywhere. Variant k of a model's first
 * input is normal(0, 1) noise keyed by (seed, `input-k`) (common/random.ts), independent of how many
 * variants are made; every further input of a model with several is keyed by (seed, `input-k/NAME`),
 * so two inputs of one shape do not carry the same values.
 */
import { encodeTensor } from '../codec/index.ts';
import { DynasplitError, ErrorCodes, seededTensor } from '../common/index.ts';
import type { TensorProperties } from '../schemas/index.ts';

/** One input: as it travels (fp32 wire tensor) and as the reference model takes it. */
export interface SyntheticInput { tensor: TensorProperties; data: Float32Array }

/** A model input as the generator needs it: model/ TensorDesc, with every dim bound (card, --dim). */
export interface InputDesc { name: string; shape: readonly number[]; dtype: string }

/**
 * One frame's worth of a model's inputs: the first as `Frame.tensor`, the others as `Frame.inputs`,
 * each named as the model's input (edge-node/frames.ts feeds them by name), and every input's values
 * by name for the unsplit reference run.
 */
export interface SyntheticFrame {
  tensor: TensorProperties;
  inputs: TensorProperties[];
  data: Record<string, Float32Array>;
}

/** Distinct inputs a sender cycles through unless it asks for another count. */
export const SYNTHETIC_VARIANTS = 8;

export function syntheticInputs(shape: number[], seed: number, variants = SYNTHETIC_VARIANTS): SyntheticInput[] {
  return Array.from({ length: variants }, (_, k) => synthetic('input', [...shape], seed, `input-${k}`));
}

/**
 * `variants` frames carrying every input of a model. Frames and the link carry float32 only
 * (schemas/tensor.proto), so a model input of another type (int64 token ids, a bool mask) is refused
 * with DYNASPLIT_ERR_UNSUPPORTED_MODEL naming it and its type: noise is no valid token id, and no
 * value range can be read from the model to draw valid ones from. The edge node refuses such a model
 * at start for the same reason (node-runtime/models.ts).
 */
export function syntheticFrames(inputs: readonly InputDesc[], seed: number, variants = SYNTHETIC_VARIANTS): SyntheticFrame[] {
  if (inputs.length === 0) throw new DynasplitError(ErrorCodes.UNSUPPORTED_MODEL, 'synthetic inputs: the model declares no input');
  const other = inputs.find((d) => d.dtype !== 'float32');
  if (other) {
    throw new DynasplitError(ErrorCodes.UNSUPPORTED_MODEL,
      `synthetic inputs: input '${other.name}' is ${other.dtype}; frames carry float32 inputs only, and noise is no valid ${other.dtype} value`,
      { details: { tensor: other.name, dtype: other.dtype } });
  }
  return Array.from({ length: variants }, (_, k) => {
    const each = inputs.map((d, i) => synthetic(d.name, [...d.shape], seed, i === 0 ? `input-${k}` : `input-${k}/${d.name}`));
    return {
      tensor: each[0].tensor,
      inputs: each.slice(1).map((x) => x.tensor),
      data: Object.fromEntries(inputs.map((d, i) => [d.name, each[i].data])),
    };
  });
}

function synthetic(name: string, shape: number[], seed: number, key: string): SyntheticInput {
  const data = seededTensor(shape, seed, key);
  return { tensor: encodeTensor({ name, shape, data }, 'fp32'), data };
}
