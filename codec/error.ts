/**
 * How far a decoded tensor is from its reference: the figures the codec tests bound and the
 * optimizer can record per cut point and codec.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';

export interface TensorErrorStats {
  /** Largest |reference - decoded| over all elements, in the tensor's own units. */
  maxAbs: number;
  /** ||reference - decoded||_2 / ||reference||_2 (0 when both are all zeros; Infinity when only the reference is). */
  relL2: number;
}

/**
 * Compares two tensors of the same length. Elements that match exactly count as no error even when
 * they are NaN or ±Infinity (fp16 carries those through); any other mismatch involving a
 * non-finite value is an infinite error. Throws BAD_ARGS when the lengths differ.
 */
export function tensorError(reference: Float32Array, decoded: Float32Array): TensorErrorStats {
  if (reference.length !== decoded.length) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `cannot compare tensors of ${reference.length} and ${decoded.length} elements`);
  }
  let maxAbs = 0;
  let diffSq = 0;
  let refSq = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i];
    let d = r - decoded[i];
    if (d !== d) d = sameSpecial(r, decoded[i]) ? 0 : Infinity; // NaN: some operand is not finite
    const a = d < 0 ? -d : d;
    if (a > maxAbs) maxAbs = a;
    diffSq += d * d;
    if (r - r === 0) refSq += r * r; // finite reference values only
  }
  if (diffSq === 0) return { maxAbs, relL2: 0 };
  return { maxAbs, relL2: Math.sqrt(diffSq) / Math.sqrt(refSq) };
}

function sameSpecial(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}
