/**
 * float32 <-> IEEE 754 binary16 conversion. Node 20 has no Float16Array, so both directions run on
 * the bit patterns. The array conversions handle values that are normal halves by integer
 * arithmetic (exponent rebias, round to nearest even) and everything else through lookup tables,
 * which the scalar conversions use for every value:
 *  - half -> float: one 64 Ki-entry table of float32 bit patterns (256 KiB), one load per element.
 *  - float -> half: J. van der Zijp, "Fast Half Float Conversions" (2008): a base and a shift table
 *    indexed by the 9 sign+exponent bits; extended here with round-to-nearest-even (the paper
 *    truncates), so the result equals a correctly rounded conversion.
 * Values beyond ±65504 round to ±Infinity, as IEEE 754 requires; NaN stays NaN (quiet, payload
 * dropped); subnormal halves (|x| < 2^-14) are produced and read exactly.
 *
 * encodeFp16 and decodeFp16 run the WebAssembly SIMD kernels (simd/kernels.wat) where available
 * and the array is long enough, the JavaScript kernels below otherwise; both give the same bits
 * (test/unit/codec/simd.test.ts).
 */
import { SIMD_MIN_ELEMENTS } from './simd/kernels.ts';
import { activeSimd } from './simd/select.ts';

/** float32 bit pattern of every binary16 bit pattern. */
const HALF_TO_FLOAT_BITS = new Uint32Array(65536);
/** Half bits (sign, exponent and the implicit-1 offset) added for each float sign+exponent. */
const BASE = new Uint16Array(512);
/** Right shift that turns the 24-bit float significand into the half significand. */
const SHIFT = new Uint8Array(512);
/** Half an output ulp minus one, in significand units: (1 << (SHIFT - 1)) - 1. */
const ROUND = new Uint32Array(512);
/** One float32 seen as bits, for the scalar conversions. */
const SCRATCH_F32 = new Float32Array(1);
const SCRATCH_U32 = new Uint32Array(SCRATCH_F32.buffer);

buildTables();

function buildTables(): void {
  for (let h = 0; h < 65536; h++) HALF_TO_FLOAT_BITS[h] = halfBitsToFloatBits(h);
  for (let e = 0; e < 256; e++) {
    let base: number;
    let shift: number;
    if (e < 102) {
      base = 0; // |x| < 2^-25 rounds to ±0 (2^-25 itself ties to even, i.e. 0)
      shift = 25;
    } else if (e < 113) {
      base = 0; // subnormal half: the significand, implicit 1 included, shifted further right
      shift = 126 - e;
    } else if (e < 143) {
      base = (e - 113) << 10; // normal half; the implicit 1 (bit 10 after the shift) adds 1 to it
      shift = 13;
    } else {
      base = 0x7c00; // overflow to infinity (NaN and Inf inputs take a separate branch)
      shift = 25;
    }
    BASE[e] = base;
    BASE[e | 0x100] = base | 0x8000;
    SHIFT[e] = shift;
    SHIFT[e | 0x100] = shift;
    ROUND[e] = (1 << (shift - 1)) - 1;
    ROUND[e | 0x100] = ROUND[e];
  }
}

function halfBitsToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // Inf, NaN (payload kept)
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal half: normalise the significand into a float32 normal number.
  let e = 113;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/**
 * Half bits of one float32 bit pattern, rounded to nearest, ties to even. The rounding bias is
 * half an output ulp minus one, plus the output's lowest bit; a carry out of the significand
 * moves into the exponent, which is the correct rounding up to the next binade (or to Infinity).
 */
function floatBitsToHalfBits(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000) return infOrNaN(x);
  const se = x >>> 23;
  const shift = SHIFT[se];
  const m = (x & 0x7fffff) | 0x800000;
  return BASE[se] + ((m + ROUND[se] + ((m >>> shift) & 1)) >>> shift);
}

/** ±Infinity stays infinite; every NaN becomes the quiet NaN 0x7e00 with its sign. */
function infOrNaN(x: number): number {
  return ((x >>> 16) & 0x8000) | ((x & 0x7fffff) === 0 ? 0x7c00 : 0x7e00);
}

/** Rounds one number to the nearest binary16 and returns its 16-bit pattern. */
export function floatToHalf(value: number): number {
  SCRATCH_F32[0] = value;
  return floatBitsToHalfBits(SCRATCH_U32[0]);
}

/** The number a 16-bit binary16 pattern stands for. */
export function halfToFloat(bits: number): number {
  SCRATCH_U32[0] = HALF_TO_FLOAT_BITS[bits & 0xffff];
  return SCRATCH_F32[0];
}

/** Converts every float to half bits; writes into `out` when given (same length), else allocates. */
export function encodeFp16(src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  if (out.length !== src.length) throw new RangeError(`fp16 output has ${out.length} elements, expected ${src.length}`);
  const simd = activeSimd();
  if (simd !== null && src.length >= SIMD_MIN_ELEMENTS) {
    simd.encodeFp16(src, out);
    return out;
  }
  return encodeFp16Js(src, out);
}

/** encodeFp16 by the JavaScript kernel; `out` has src.length elements. */
function encodeFp16Js(src: Float32Array, out: Uint16Array): Uint16Array {
  // The float bits are read through a view of the same memory: no copy.
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const n = bits.length;
  for (let i = 0; i < n; i++) {
    const x = bits[i];
    const a = x & 0x7fffffff;
    // Floats that become normal halves (2^-14 <= |x| < 2^16, exponents 113..142) by arithmetic:
    // rebias the exponent (-112 << 23), add half an ulp minus one (0xfff) plus the lowest kept bit
    // (ties to even), shift. A carry out of the significand rounds into the next binade, or to
    // Infinity past 65504. 0x37fff001 = (112 << 23) - 0xfff. Zeros, subnormal halves, overflow,
    // Inf and NaN take the tables. Measured 1.3x faster than the tables alone (bench/codecs.ts).
    if (((a - 0x38800000) >>> 0) < 0x0f000000) out[i] = ((x >>> 16) & 0x8000) | ((a - 0x37fff001 + ((a >>> 13) & 1)) >>> 13);
    else out[i] = floatBitsToHalfBits(x);
  }
  return out;
}

/** Converts half bits to floats; writes into `out` when given (same length), else allocates. */
export function decodeFp16(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  if (out.length !== src.length) throw new RangeError(`fp32 output has ${out.length} elements, expected ${src.length}`);
  const simd = activeSimd();
  if (simd !== null && src.length >= SIMD_MIN_ELEMENTS) {
    simd.decodeFp16(src, out);
    return out;
  }
  return decodeFp16Js(src, out);
}

/** decodeFp16 by the JavaScript kernel; `out` has src.length elements. */
function decodeFp16Js(src: Uint16Array, out: Float32Array): Float32Array {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  const n = src.length;
  for (let i = 0; i < n; i++) {
    const h = src[i];
    const em = h & 0x7fff;
    // Normal halves (exponent 1..30) by arithmetic: the exponent rebiased by 127 - 15 = 112, i.e.
    // 112 << 23 = 0x38000000 added to the bits shifted into place. Zeros, subnormals, Inf and NaN
    // take the table. Measured 1.3x faster than the table alone (bench/codecs.ts kernels).
    if (((em - 0x400) >>> 0) < 0x7800) bits[i] = ((h & 0x8000) << 16) | ((em << 13) + 0x38000000);
    else bits[i] = HALF_TO_FLOAT_BITS[h];
  }
  return out;
}
