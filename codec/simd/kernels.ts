/**
 * The WebAssembly SIMD128 codec kernels (kernels.wat), loaded once, synchronously, and wrapped so
 * that callers pass ordinary typed arrays. Null where WebAssembly or its SIMD128 extension is
 * missing (WebAssembly.validate refuses the module); the JavaScript kernels then run instead.
 *
 * WebAssembly code reads only its own linear memory, so each tensor goes through it in chunks of
 * CHUNK elements: copy a chunk in, run the kernel, copy the result out to where the caller wants it.
 * Chunks rather than the whole tensor: the memory stays small and fixed (never grows, so the views
 * below never detach), and a chunk's input and output (at most 2 x 64 KiB) stay in the CPU's L2
 * cache between the copy in, the kernel and the copy out, so the tensor's bytes cross main memory
 * no more often than in the JavaScript kernels. No view into this memory leaves this file.
 */
import { inverseScale, needsClamp } from '../scale-rules.ts';
import { KERNELS_WASM_BASE64 } from './kernels-wasm.ts';

/**
 * Elements per chunk: 64 KiB of float32. Measured on a 12.8 MB tensor: chunks of 4 Ki and 8 Ki
 * elements made fp16 1.1–1.6x slower (more calls) and int8 no faster; the regions of 16 Ki fill
 * most of the module's 4 pages.
 */
export const CHUNK = 16384;
/**
 * Shortest block the int8 kernels take: they process whole vectors of 16 and let a block's overrun
 * be overwritten by the next block, so blocks shorter than 16 would cost more than one vector each.
 */
export const MIN_BLOCK = 16;
/**
 * Fewest elements for which the codecs call the SIMD kernels; shorter arrays take the JavaScript
 * kernels. A call costs a fixed ~0.25 µs (typed-array views for the copies in and out, the call
 * into WebAssembly). Measured here (CPU time per call, 2 shared cores under load): at 64 elements
 * SIMD was 1.4x faster than JavaScript for fp16 and 0.9x for int8 (encode), at 128 elements 2x and
 * 1.6x, at 1024 elements 4.8x and 5.8x.
 */
export const SIMD_MIN_ELEMENTS = 128;
/** Bytes after each region that the kernels may read or write past its end (kernels.wat). */
const SLACK = 64;
/** Byte offsets of the regions in the module's memory (4 pages of 64 KiB, kernels.wat). */
const IN = 0;
const OUT = IN + CHUNK * 4 + SLACK;
const PARAMS = OUT + CHUNK * 4 + SLACK;
/** Blocks per kernel call, at most: one per MIN_BLOCK elements of a chunk. */
const MAX_BLOCKS = CHUNK / MIN_BLOCK;
/** Bytes of the parameters of one block in quantize_i8_blocks: f64 inverse, i32 clamp, padding. */
const QUANT_PARAM_BYTES = 16;

interface Exports {
  memory: { buffer: ArrayBuffer };
  f32_to_f16(src: number, dst: number, n: number): void;
  f16_to_f32(src: number, dst: number, n: number): void;
  absmax_blocks(src: number, len: number, blocks: number, out: number): void;
  quantize_i8_blocks(src: number, dst: number, len: number, blocks: number, params: number): void;
  dequantize_i8_blocks(src: number, dst: number, len: number, blocks: number, params: number): void;
  minmax_f32(src: number, n: number, out: number): void;
  quantize_u8(src: number, dst: number, n: number, params: number): void;
  dequantize_u8(src: number, dst: number, n: number, params: number): void;
}

/** The part of the WebAssembly JS API used here (TypeScript's ES libs do not declare it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

/** The SIMD kernels over typed arrays. Every method gives bit for bit what the JavaScript kernel gives. */
export interface SimdKernels {
  /** float32 -> binary16 bits (codec/fp16.ts encodeFp16); out.length = src.length. */
  encodeFp16(src: Float32Array, out: Uint16Array): void;
  /** binary16 bits -> float32 (codec/fp16.ts decodeFp16); out.length = src.length. */
  decodeFp16(src: Uint16Array, out: Float32Array): void;
  /** absmax[b % groups] = max(absmax[b % groups], max |x| of block b); NaN/Infinity propagate as in Math.max. */
  int8AbsMax(src: Float32Array, groups: number, blockLen: number, absmax: Float32Array): void;
  /** out = round(src * inverseScale(s)), ties to even, clamped to [-127, 127] where needsClamp(s); s = scales[group]. */
  writeInt8(src: Float32Array, scales: Float32Array, blockLen: number, out: Int8Array): void;
  /** out = q * scales[group], clamped to finite float32; every scale must be a finite float32 value. */
  dequantizeInt8(q: Int8Array, scales: ArrayLike<number>, blockLen: number, out: Float32Array): void;
  /**
   * min(x, 0) and max(x, 0) over src, and whether every value is finite (uint8Params). A zero
   * result may be +0 where Math.min gives -0.
   */
  minMax(src: Float32Array): { min: number; max: number; finite: boolean };
  /**
   * out = clamp(round(src * inverse + zeroPoint), 0, 255), float64 arithmetic (writeUint8).
   * `clamp: false` when every src * inverse + zeroPoint is finite and within +-2^31 (parameters of
   * these values): the kernel then saturates after rounding instead, the same result, cheaper.
   */
  writeUint8(src: Float32Array, inverse: number, zeroPoint: number, out: Uint8Array, clamp: boolean): void;
  /** out = (q - zeroPoint) * scale, clamped to finite float32; scale must be a finite float32 value. */
  dequantizeUint8(q: Uint8Array, scale: number, zeroPoint: number, out: Float32Array): void;
}

/** A run of `blocks` contiguous blocks of `len` elements from element `start`; the first is block `block`. */
interface Run {
  start: number;
  len: number;
  blocks: number;
  block: number;
}

/**
 * Cuts `count` elements in blocks of `blockLen` into runs of at most CHUNK elements: whole blocks
 * when they fit in a chunk, else pieces of one block. blockLen >= MIN_BLOCK (or count = 0).
 */
function forEachRun(count: number, blockLen: number, fn: (run: Run) => void): void {
  if (count === 0) return;
  const blocks = count / blockLen;
  if (blockLen >= CHUNK) {
    for (let b = 0; b < blocks; b++) {
      for (let off = 0; off < blockLen; off += CHUNK) {
        fn({ start: b * blockLen + off, len: Math.min(CHUNK, blockLen - off), blocks: 1, block: b });
      }
    }
    return;
  }
  const perRun = Math.floor(CHUNK / blockLen);
  for (let b = 0; b < blocks; b += perRun) {
    fn({ start: b * blockLen, len: blockLen, blocks: Math.min(perRun, blocks - b), block: b });
  }
}

/** A typed array as the chunk loop uses it. */
interface Elements extends ArrayLike<number> {
  subarray(begin: number, end: number): ArrayLike<number>;
  set(array: ArrayLike<number>, offset?: number): void;
}

/**
 * An element-wise kernel over `src`, CHUNK elements at a time: each chunk copied into `input`, the
 * kernel run on its `n` elements, its result copied from `output` into `out` at the chunk's place.
 */
function elementwise(src: Elements, input: Elements, output: Elements, out: Elements, kernel: (n: number) => void): void {
  for (let i = 0; i < src.length; i += CHUNK) {
    const n = Math.min(CHUNK, src.length - i);
    input.set(src.subarray(i, i + n));
    kernel(n);
    out.set(n === CHUNK ? output : output.subarray(0, n), i);
  }
}

function wrap(wasm: Exports): SimdKernels {
  const buffer = wasm.memory.buffer;
  const inF32 = new Float32Array(buffer, IN, CHUNK);
  const inU16 = new Uint16Array(buffer, IN, CHUNK);
  const inI8 = new Int8Array(buffer, IN, CHUNK);
  const outF32 = new Float32Array(buffer, OUT, CHUNK);
  const outU16 = new Uint16Array(buffer, OUT, CHUNK);
  const outI8 = new Int8Array(buffer, OUT, CHUNK);
  const outU8 = new Uint8Array(buffer, OUT, CHUNK);
  const paramsF32 = new Float32Array(buffer, PARAMS, MAX_BLOCKS);
  const paramsI32 = new Int32Array(buffer, PARAMS, MAX_BLOCKS * (QUANT_PARAM_BYTES / 4));
  const paramsF64 = new Float64Array(buffer, PARAMS, MAX_BLOCKS * (QUANT_PARAM_BYTES / 8));
  const maxF32 = paramsF32; // absmax_blocks writes the bits of max |x| per block; read as floats
  const inU8 = new Uint8Array(buffer, IN, CHUNK);

  return {
    encodeFp16: (src, out) => elementwise(src, inF32, outU16, out, (n) => wasm.f32_to_f16(IN, OUT, n)),
    decodeFp16: (src, out) => elementwise(src, inU16, outF32, out, (n) => wasm.f16_to_f32(IN, OUT, n)),
    int8AbsMax(src, groups, blockLen, absmax) {
      forEachRun(src.length, blockLen, (r) => {
        const n = r.len * r.blocks;
        inF32.set(src.subarray(r.start, r.start + n));
        wasm.absmax_blocks(IN, r.len, r.blocks, PARAMS);
        // Groups counted up and wrapped: a % per block costs as much as the merge (many short rows).
        for (let k = 0, g = r.block % groups; k < r.blocks; k++, g = g + 1 === groups ? 0 : g + 1) {
          absmax[g] = Math.max(absmax[g], maxF32[k]);
        }
      });
    },
    writeInt8(src, scales, blockLen, out) {
      const groups = scales.length;
      forEachRun(src.length, blockLen, (r) => {
        const n = r.len * r.blocks;
        inF32.set(src.subarray(r.start, r.start + n));
        for (let k = 0, g = r.block % groups; k < r.blocks; k++, g = g + 1 === groups ? 0 : g + 1) {
          paramsF64[2 * k] = inverseScale(scales[g]);
          paramsI32[4 * k + 2] = needsClamp(scales[g]) ? 1 : 0;
        }
        wasm.quantize_i8_blocks(IN, OUT, r.len, r.blocks, PARAMS);
        out.set(outI8.subarray(0, n), r.start);
      });
    },
    dequantizeInt8(q, scales, blockLen, out) {
      const groups = scales.length;
      forEachRun(q.length, blockLen, (r) => {
        const n = r.len * r.blocks;
        inI8.set(q.subarray(r.start, r.start + n));
        for (let k = 0, g = r.block % groups; k < r.blocks; k++, g = g + 1 === groups ? 0 : g + 1) paramsF32[k] = scales[g];
        wasm.dequantize_i8_blocks(IN, OUT, r.len, r.blocks, PARAMS);
        out.set(n === CHUNK ? outF32 : outF32.subarray(0, n), r.start);
      });
    },
    minMax(src) {
      let min = 0;
      let max = 0;
      let bits = 0;
      for (let i = 0; i < src.length; i += CHUNK) {
        const n = Math.min(CHUNK, src.length - i);
        inF32.set(src.subarray(i, i + n));
        wasm.minmax_f32(IN, n, PARAMS);
        min = Math.min(min, paramsF32[0]);
        max = Math.max(max, paramsF32[1]);
        bits = Math.max(bits, paramsI32[2]);
      }
      return { min, max, finite: bits < 0x7f800000 };
    },
    writeUint8(src, inverse, zeroPoint, out, clamp) {
      paramsF64[0] = inverse;
      paramsF64[1] = zeroPoint;
      paramsI32[4] = clamp ? 1 : 0;
      elementwise(src, inF32, outU8, out, (n) => wasm.quantize_u8(IN, OUT, n, PARAMS));
    },
    dequantizeUint8(q, scale, zeroPoint, out) {
      paramsF32[0] = scale;
      paramsI32[1] = zeroPoint;
      elementwise(q, inU8, outF32, out, (n) => wasm.dequantize_u8(IN, OUT, n, PARAMS));
    },
  };
}

/** Instantiates kernels.wat; null when this runtime lacks WebAssembly or SIMD128. */
function load(): SimdKernels | null {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined) return null;
  const bytes = Uint8Array.from(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
  if (!api.validate(bytes)) return null;
  const instance = new api.Instance(new api.Module(bytes), {});
  return wrap(instance.exports as Exports);
}

/** The kernels, or null where the runtime cannot run them. */
export const simdKernels: SimdKernels | null = load();
