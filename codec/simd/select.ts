/**
 * Which kernels the codecs run: the WebAssembly SIMD kernels where this runtime validates them
 * (chosen once, at load), else the JavaScript ones. Both give the same bits for every input, so
 * the choice changes speed only; benchmarks and tests switch it to compare the two.
 */
import { DynasplitError, ErrorCodes } from '../../common/index.ts';
import { simdKernels, type SimdKernels } from './kernels.ts';

export type CodecKernels = 'simd' | 'js';

let active: SimdKernels | null = simdKernels;

/** The SIMD kernels when selected, else null (run the JavaScript kernels). */
export function activeSimd(): SimdKernels | null {
  return active;
}

/** The kernels in use. */
export function codecKernels(): CodecKernels {
  return active === null ? 'js' : 'simd';
}

/** Selects the kernels; 'simd' throws PROVIDER_UNAVAILABLE where WebAssembly SIMD128 is missing. */
export function useCodecKernels(kind: CodecKernels): void {
  if (kind === 'js') {
    active = null;
  } else if (kind === 'simd' && simdKernels !== null) {
    active = simdKernels;
  } else if (kind === 'simd') {
    throw new DynasplitError(ErrorCodes.PROVIDER_UNAVAILABLE, 'this runtime has no WebAssembly SIMD128; the codecs run their JavaScript kernels');
  } else {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `unknown codec kernels "${String(kind)}"; expected simd or js`, { details: { kernels: kind } });
  }
}
