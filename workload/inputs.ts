/**
 * Seeded synthetic inputs: the one generator the sensor, the profiler, the testbed and the benchmarks
 * send, so the same (shape, seed) gives the same tensors everywhere. Variant k is normal(0, 1) noise
 * keyed by (seed, `input-k`) (common/random.ts), independent of how many variants are made.
 */
import { encodeTensor } from '../codec/index.ts';
import { seededTensor } from '../common/index.ts';
import type { TensorProperties } from '../schemas/index.ts';

/** One input: as it travels (fp32 wire tensor) and as the reference model takes it. */
export interface SyntheticInput { tensor: TensorProperties; data: Float32Array }

/** Distinct inputs a sender cycles through unless it asks for another count. */
export const SYNTHETIC_VARIANTS = 8;

export function syntheticInputs(shape: number[], seed: number, variants = SYNTHETIC_VARIANTS): SyntheticInput[] {
  return Array.from({ length: variants }, (_, k) => {
    const data = seededTensor(shape, seed, `input-${k}`);
    return { tensor: encodeTensor({ name: 'input', shape, data }, 'fp32'), data };
  });
}
