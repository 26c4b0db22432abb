/**
 * Linear 8-bit quantization of float32 tensors (pure; no I/O).
 *
 * Symmetric int8 covers three granularities with one loop: the tensor is a run of contiguous
 * blocks of `blockLen` elements, and block b belongs to group `b % groups`, which has its own scale.
 *  - per tensor:  groups = 1, blockLen = element count
 *  - per channel: groups = C = shape[1], blockLen = product(shape[2..]) (NCHW: the H*W plane)
 *  - per token:   groups = product(shape[..n-1]) (rows), blockLen = shape[n-1] (the hidden size D)
 * scale = absmax / 127, q = round(x / scale) in [-127, 127] (-128 is never produced, so the range
 * is symmetric), x' = q * scale, hence |x - x'| <= scale / 2.
 *
 * Asymmetric uint8 (per tensor) maps [min(x, 0), max(x, 0)] onto [0, 255]: scale = range / 255,
 * zero point = round(-min / scale), so 0.0 is exact (zero padding and ReLU zeros stay zero).
 *
 * Rounding is to nearest, ties to even. Scales are rounded to float32 before use because float32
 * is what the wire carries: the encoder quantizes with exactly the scale the decoder multiplies by.
 * A group whose values are all zero gets scale 0 and decodes to zeros. NaN and Infinity cannot be
 * quantized and are rejected. Each quantizer is split in two passes (parameters, then values) so
 * the wire encoder can write the values straight into its output buffer.
 *
 * Every pass runs the WebAssembly SIMD kernels (simd/kernels.wat) where available, for tensors of
 * at least SIMD_MIN_ELEMENTS (int8: in blocks of at least MIN_BLOCK), and the JavaScript loops
 * below otherwise; both give the same bits (test/unit/codec/simd.test.ts).
 */
import { FLOAT32_MAX, inverseScale, needsClamp } from './scale-rules.ts';
import { MIN_BLOCK, SIMD_MIN_ELEMENTS } from './simd/kernels.ts';
import { activeSimd } from './simd/select.ts';
import { badTensor, scanNonFinite } from './validate.ts';

/** Quantized int8 data with one float32 scale per group. */
export interface Int8Quantized {
  data: Int8Array;
  scales: Float32Array;
}

/** Parameters of asymmetric uint8 quantization. */
export interface Uint8Params {
  /** float32 units per integer step; 0 when the tensor is all zeros. */
  scale: number;
  /** Integer in [0, 255] that decodes to 0.0. */
  zeroPoint: number;
}

/** Quantized uint8 data with its scale and zero point. */
export interface Uint8Quantized extends Uint8Params {
  data: Uint8Array;
}

const INT8_MAX = 127;
const UINT8_MAX = 255;
/**
 * 1.5 * 2^52: adding and subtracting it rounds a double of magnitude < 2^51 to an integer, ties to
 * even, by IEEE 754 default rounding. Measured 7x faster than Math.round in Node 20.
 */
const ROUND_MAGIC = 6755399441055744;

/** Symmetric int8 scales, one per group: absmax / 127 rounded to float32. Throws BAD_TENSOR on NaN/Infinity. */
export function int8Scales(src: Float32Array, name: string, groups: number, blockLen: number): Float32Array {
  checkBlocks(src.length, src.length, groups, blockLen);
  // absmax per group, then the scales in place: max |x| of float32 values is a float32 value, so
  // the Float32Array holds it exactly (one array per call: at one group per token, allocating
  // arrays of the group count costs as much as the kernels).
  const scales = new Float32Array(groups);
  const simd = activeSimd();
  if (simd !== null && simdFits(src.length, blockLen)) {
    simd.int8AbsMax(src, groups, blockLen, scales);
  } else {
    for (let b = 0, i = 0; i < src.length; b++, i += blockLen) {
      const g = b % groups;
      scales[g] = blockAbsMax(src, i, i + blockLen, scales[g]);
    }
  }
  for (let g = 0; g < groups; g++) {
    // NaN and Infinity survive Math.max, so one test per group finds them (no test per element).
    if (!(scales[g] < Infinity)) throw nonFinite(src, name);
    scales[g] = scales[g] / INT8_MAX;
  }
  return scales;
}

/**
 * max(m, |x|) over src[start..end); NaN when a NaN is among them. A flat loop of its own: V8
 * optimizes it better than the same loop nested in the block loop (measured 1.4x).
 */
function blockAbsMax(src: Float32Array, start: number, end: number, m: number): number {
  let max = m;
  // Math.abs, not `x < 0 ? -x : x`: the branch mispredicts on random signs (measured 7x slower).
  for (let i = start; i < end; i++) max = Math.max(max, Math.abs(src[i]));
  return max;
}

/** Writes q = round(x / scales[group]) into `out`; groups = scales.length. */
export function writeInt8(src: Float32Array, scales: Float32Array, blockLen: number, out: Int8Array): Int8Array {
  const groups = scales.length;
  checkBlocks(src.length, out.length, groups, blockLen);
  const simd = activeSimd();
  if (simd !== null && simdFits(src.length, blockLen)) {
    simd.writeInt8(src, scales, blockLen, out);
    return out;
  }
  for (let b = 0, i = 0; i < src.length; b++, i += blockLen) {
    const s = scales[b % groups];
    if (needsClamp(s)) roundClampBlock(src, out, i, i + blockLen, inverseScale(s));
    else roundBlock(src, out, i, i + blockLen, inverseScale(s));
  }
  return out;
}

/** out[i] = round(src[i] * inv), ties to even, for values known to round into [-127, 127]. */
function roundBlock(src: Float32Array, out: Int8Array, start: number, end: number, inv: number): void {
  for (let i = start; i < end; i++) out[i] = src[i] * inv + ROUND_MAGIC - ROUND_MAGIC;
}

/** roundBlock, clamped to [-127, 127]. */
function roundClampBlock(src: Float32Array, out: Int8Array, start: number, end: number, inv: number): void {
  for (let i = start; i < end; i++) {
    const q = src[i] * inv + ROUND_MAGIC - ROUND_MAGIC;
    out[i] = q > INT8_MAX ? INT8_MAX : q < -INT8_MAX ? -INT8_MAX : q;
  }
}

/** Both passes of symmetric int8 quantization (see the file comment for groups and blocks). */
export function quantizeInt8Blocks(
  src: Float32Array, name: string, groups: number, blockLen: number, out: Int8Array = new Int8Array(src.length),
): Int8Quantized {
  const scales = int8Scales(src, name, groups, blockLen);
  return { data: writeInt8(src, scales, blockLen, out), scales };
}

/** Inverse of symmetric int8 quantization: x' = q * scales[group]; groups = scales.length. */
export function dequantizeInt8Blocks(
  q: Int8Array, scales: ArrayLike<number>, blockLen: number, out: Float32Array = new Float32Array(q.length),
): Float32Array {
  const groups = scales.length;
  checkBlocks(q.length, out.length, groups, blockLen);
  const simd = activeSimd();
  // The SIMD kernel multiplies in float32, which equals the float64 product rounded to float32
  // only for scales that are float32 values (as every scale from the wire is).
  if (simd !== null && simdFits(q.length, blockLen) && float32Values(scales)) {
    simd.dequantizeInt8(q, scales, blockLen, out);
    return out;
  }
  for (let b = 0, i = 0; i < q.length; b++, i += blockLen) scaleBlock(q, out, i, i + blockLen, scales[b % groups], 0);
  return out;
}

/**
 * out[i] = (q[i] - zeroPoint) * s over [start, end). |q - zeroPoint| <= 255, so a scale up to
 * FLOAT32_MAX / 256 cannot overflow and needs no clamp per element.
 */
function scaleBlock(q: Int8Array | Uint8Array, out: Float32Array, start: number, end: number, s: number, zeroPoint: number): void {
  if (Math.abs(s) <= FLOAT32_MAX / 256) {
    for (let i = start; i < end; i++) out[i] = (q[i] - zeroPoint) * s;
  } else {
    for (let i = start; i < end; i++) out[i] = finite((q[i] - zeroPoint) * s);
  }
}

/** Whether the SIMD kernels take this tensor (see SIMD_MIN_ELEMENTS and MIN_BLOCK for why). */
function simdFits(length: number, blockLen: number): boolean {
  return length >= SIMD_MIN_ELEMENTS && blockLen >= MIN_BLOCK;
}

const ABSMAX = new Float32Array(1);

/**
 * Index of the first NaN or +-Infinity in `src`; -1 when every value is finite. Where the SIMD kernels
 * run, max |x| first (NaN and Infinity survive the max), at ~copy speed: the element by element scan
 * ran at ~2.4 ns an element, 0.36 ms for a VGG16 input frame.
 */
export function firstNonFinite(src: Float32Array): number {
  const simd = activeSimd();
  if (simd !== null && simdFits(src.length, src.length)) {
    // int8AbsMax keeps the larger of what the array holds and what it finds: start from 0.
    ABSMAX[0] = 0;
    simd.int8AbsMax(src, 1, src.length, ABSMAX);
    if (ABSMAX[0] < Infinity) return -1;
  }
  return scanNonFinite(src);
}

/** Whether every scale is finite and exactly a float32 value. */
function float32Values(scales: ArrayLike<number>): boolean {
  for (let i = 0; i < scales.length; i++) {
    const s = scales[i];
    if (!(Math.fround(s) === s && Math.abs(s) < Infinity)) return false;
  }
  return true;
}

/**
 * A decoded value stays finite: a scale rounded up to float32 times 127 (or 255 steps) can land just
 * past the largest float32 for inputs near it, and a message may carry any scale.
 */
function finite(x: number): number {
  return x > FLOAT32_MAX ? FLOAT32_MAX : x < -FLOAT32_MAX ? -FLOAT32_MAX : x;
}

/** Blocks of per-channel quantization: C = shape[1] groups of H*W planes. Requires rank >= 2. */
export function channelBlocks(shape: readonly number[]): { groups: number; blockLen: number } {
  if (shape.length < 2) throw new RangeError(`per-channel quantization needs rank >= 2, got [${shape.join(',')}]`);
  let blockLen = 1;
  for (let i = 2; i < shape.length; i++) blockLen *= shape[i];
  return { groups: shape[1], blockLen };
}

/** Blocks of per-token quantization: one group per row of the last axis. Requires rank >= 1. */
export function tokenBlocks(shape: readonly number[]): { groups: number; blockLen: number } {
  if (shape.length < 1) throw new RangeError('per-token quantization needs rank >= 1, got a scalar');
  let groups = 1;
  for (let i = 0; i < shape.length - 1; i++) groups *= shape[i];
  return { groups, blockLen: shape[shape.length - 1] };
}

/** Asymmetric uint8 parameters over [min(x, 0), max(x, 0)]. Throws BAD_TENSOR on NaN/Infinity. */
export function uint8Params(src: Float32Array, name: string): Uint8Params {
  const simd = activeSimd();
  const { min, max, finite } = simd !== null && src.length >= SIMD_MIN_ELEMENTS ? simd.minMax(src) : minMaxJs(src);
  if (!finite) throw nonFinite(src, name);
  const scale = Math.fround((max - min) / UINT8_MAX);
  // The scale can only be 0 when min = max = 0, or when the range underflows float32.
  if (!(scale > 0)) return { scale: 0, zeroPoint: 0 };
  return { scale, zeroPoint: Math.min(UINT8_MAX, Math.max(0, Math.round(-min / scale))) };
}

/** min(x, 0), max(x, 0) and whether every value is finite, by the JavaScript kernel. */
function minMaxJs(src: Float32Array): { min: number; max: number; finite: boolean } {
  let min = 0;
  let max = 0;
  // x - x is 0 for finite x and NaN for NaN and ±Infinity, so the sum turns NaN on the first bad
  // value. (Testing min and max once after the loop instead measured no faster here.)
  let poison = 0;
  for (let i = 0; i < src.length; i++) {
    const x = src[i];
    min = Math.min(min, x);
    max = Math.max(max, x);
    poison += x - x;
  }
  return { min, max, finite: poison === 0 };
}

/**
 * Writes q = clamp(round(x / scale) + zeroPoint, 0, 255) into `out`. `paramsOfSrc`: `params` are
 * uint8Params(src). Then every x / scale + zeroPoint is finite and within a few hundred of [0, 255]
 * (even a subnormal scale, rounded to float32, is at least two thirds of (max - min) / 255), so
 * the SIMD kernel may round first and saturate after: the same values, without a clamp per element.
 */
export function writeUint8(src: Float32Array, params: Uint8Params, out: Uint8Array, paramsOfSrc = false): Uint8Array {
  checkBlocks(src.length, out.length, 1, src.length);
  const inv = params.scale > 0 ? 1 / params.scale : 0;
  const zeroPoint = params.zeroPoint;
  const simd = activeSimd();
  if (simd !== null && src.length >= SIMD_MIN_ELEMENTS) {
    simd.writeUint8(src, inv, zeroPoint, out, !paramsOfSrc);
    return out;
  }
  // Storing into a Uint8ClampedArray clamps to [0, 255] and rounds ties to even in one step.
  const clamped = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) clamped[i] = src[i] * inv + zeroPoint;
  return out;
}

/** Both passes of asymmetric uint8 quantization. */
export function quantizeUint8(src: Float32Array, name: string, out: Uint8Array = new Uint8Array(src.length)): Uint8Quantized {
  const params = uint8Params(src, name);
  return { data: writeUint8(src, params, out, true), ...params };
}

/** Inverse of quantizeUint8: x' = (q - zeroPoint) * scale. */
export function dequantizeUint8(q: Uint8Array, params: Uint8Params, out: Float32Array = new Float32Array(q.length)): Float32Array {
  checkBlocks(q.length, out.length, 1, q.length);
  const { scale, zeroPoint } = params;
  const simd = activeSimd();
  // As for int8: a float32 scale (every scale from the wire is one) and an integer zero point.
  if (simd !== null && q.length >= SIMD_MIN_ELEMENTS && float32Values([scale]) && Number.isInteger(zeroPoint) && zeroPoint >= 0 && zeroPoint <= UINT8_MAX) {
    simd.dequantizeUint8(q, scale, zeroPoint, out);
    return out;
  }
  scaleBlock(q, out, 0, q.length, scale, zeroPoint);
  return out;
}

function nonFinite(src: Float32Array, name: string): Error {
  const index = scanNonFinite(src);
  return badTensor(name, `element ${index} is ${src[index]}; 8-bit codecs cannot encode NaN or Infinity`, {
    index,
    value: String(src[index]),
  });
}

/** Programming errors (the codec registry validates shapes first), hence RangeError, not coded. */
function checkBlocks(length: number, outLength: number, groups: number, blockLen: number): void {
  if (outLength !== length) throw new RangeError(`output has ${outLength} elements, expected ${length}`);
  // A zero-length block must mean an empty tensor, or the block loops would never advance.
  const period = groups * blockLen;
  if (period === 0 ? length !== 0 : length % period !== 0) {
    throw new RangeError(`${groups} groups of blocks of ${blockLen} do not tile ${length} elements`);
  }
}
