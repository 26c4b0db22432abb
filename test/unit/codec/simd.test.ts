/**
 * The WebAssembly SIMD kernels against the JavaScript kernels, bit for bit: every public codec
 * function is run once with each selection (useCodecKernels) on the same input.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DynasplitError, ErrorCodes } from '../../../common/index.ts';
import {
  codecKernels,
  decodeFp16,
  decodeTensorBytes,
  dequantizeInt8Blocks,
  dequantizeUint8,
  encodeFp16,
  encodeTensorBytes,
  firstNonFinite,
  quantizeInt8Blocks,
  quantizeUint8,
  useCodecKernels,
  type CodecKernels,
  type CodecName,
} from '../../../codec/index.ts';
import { writeUint8 } from '../../../codec/quantize.ts';
import { CHUNK, MIN_BLOCK, SIMD_MIN_ELEMENTS } from '../../../codec/simd/kernels.ts';
import { normalArray, randomBits, seededRandom, type Random } from '../../helpers/random.ts';

const KINDS: readonly CodecKernels[] = ['js', 'simd'];

afterEach(() => useCodecKernels('simd'));

/** fn's result under each selection: [js, simd]. */
function both<T>(fn: () => T): [T, T] {
  const results = KINDS.map((kind) => {
    useCodecKernels(kind);
    return fn();
  });
  return [results[0], results[1]];
}

/** Indices where two arrays differ in their bits (NaN payloads and the sign of zero included). */
function bitDiff(a: ArrayBufferView, b: ArrayBufferView): number[] {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  expect(y.length).toBe(x.length);
  const size = (a as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  const wrong = new Set<number>();
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) wrong.add(Math.floor(i / size));
  return [...wrong].slice(0, 10);
}

function floats(bits: number[]): Float32Array {
  return new Float32Array(Uint32Array.from(bits).buffer);
}

/** Float32 bit patterns around every rounding boundary of binary16, with both signs. */
function halfBoundaries(): Float32Array {
  const bits: number[] = [];
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const half = (h: number): number => (h < 0x400 ? h * 2 ** -24 : (1 + (h & 0x3ff) / 1024) * 2 ** ((h >>> 10) - 15));
  for (let h = 0; h < 0x7c00; h++) {
    // Midpoint to the next half (65520 past 65504): exact in float32 (12 significant bits).
    f[0] = (half(h) + (h === 0x7bff ? 65536 : half(h + 1))) / 2;
    for (const d of [-1, 0, 1]) bits.push(u[0] + d, (u[0] + d) | 0x80000000);
  }
  return floats(bits.map((b) => b >>> 0));
}

/** Special float32 patterns: zeros, subnormal floats, Inf, NaN with payloads (quiet and signalling). */
const SPECIAL = floats([
  0, 0x80000000, 1, 0x80000001, 0x007fffff, 0x00800000, 0x33000000, 0x33000001, 0x337fffff, 0x33800000,
  0x387fffff, 0x38800000, 0x477fe000, 0x477fefff, 0x477ff000, 0x477fffff, 0x47800000, 0x7f7fffff,
  0x7f800000, 0xff800000, 0x7f800001, 0x7fbfffff, 0x7fc00000, 0x7fc00001, 0x7fffffff, 0xff800001, 0xffc00000, 0xffffffff,
]);

describe('SIMD kernels', () => {
  it('are selected in this runtime (Node >= 20 has WebAssembly SIMD128)', () => {
    expect(codecKernels()).toBe('simd');
  });

  it('refuse an unknown selection with BAD_ARGS', () => {
    expect(() => useCodecKernels('avx' as CodecKernels)).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_ARGS }));
  });

  it('fp16 decode: every half pattern, bit for bit (NaN payloads kept)', () => {
    const halves = new Uint16Array(65536).map((_, i) => i);
    const [js, simd] = both(() => decodeFp16(halves));
    expect(bitDiff(js, simd)).toEqual([]);
  });

  it('fp16 encode: 4 Mi random bit patterns, the rounding boundaries and special values, bit for bit', () => {
    const random = seededRandom(0x5eed16);
    for (const src of [new Float32Array(randomBits(random, 1 << 22).buffer), halfBoundaries(), SPECIAL]) {
      // SPECIAL is shorter than SIMD_MIN_ELEMENTS: repeat it into a long array at odd offsets.
      const input = src.length >= SIMD_MIN_ELEMENTS ? src : Float32Array.from({ length: 1001 }, (_, i) => src[(i * 7) % src.length]);
      const [js, simd] = both(() => encodeFp16(input));
      expect(bitDiff(js, simd)).toEqual([]);
    }
  });

  it('fp16: lengths around the vector width and the chunk, views at odd offsets', () => {
    const random = seededRandom(7);
    const all = new Float32Array(randomBits(random, 3 * CHUNK + 64).buffer);
    for (const n of [0, 1, 7, 127, 128, 129, 135, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 9]) {
      const src = all.subarray(3, 3 + n);
      const [js, simd] = both(() => encodeFp16(src));
      expect(bitDiff(js, simd), `encode n=${n}`).toEqual([]);
      const halves = new Uint16Array(all.buffer, 2, 2 * n);
      const [jsBack, simdBack] = both(() => decodeFp16(halves));
      expect(bitDiff(jsBack, simdBack), `decode n=${n}`).toEqual([]);
    }
  });
});

/** Normal values with a spread per block, some exact zeros and ties (x * inverse scale = k + 0.5). */
function int8Input(random: Random, n: number, blockLen: number): Float32Array {
  const x = normalArray(random, n);
  for (let i = 0; i < n; i++) {
    x[i] *= 1 + (Math.floor(i / Math.max(1, blockLen)) % 5);
    if (random() < 0.1) x[i] = 0;
    // Halfway values of a grid of step 1/127 (absmax 1 gives scale 1/127 when 1 is the largest).
    if (random() < 0.05) x[i] = (Math.floor(random() * 254) - 127 + 0.5) / 127;
  }
  return x;
}

function expectInt8Same(src: Float32Array, groups: number, blockLen: number, label: string): void {
  const [js, simd] = both(() => quantizeInt8Blocks(src, 't', groups, blockLen));
  expect(bitDiff(js.scales, simd.scales), `${label} scales`).toEqual([]);
  expect(bitDiff(js.data, simd.data), `${label} data`).toEqual([]);
  const [jsBack, simdBack] = both(() => dequantizeInt8Blocks(js.data, js.scales, blockLen));
  expect(bitDiff(jsBack, simdBack), `${label} dequantized`).toEqual([]);
}

describe('firstNonFinite', () => {
  it('finds the first NaN or Infinity (every special pattern, anywhere, past a chunk too) as the element by element scan does', () => {
    const nonFinite = [...SPECIAL].filter((x) => !Number.isFinite(x));
    expect(nonFinite.length).toBeGreaterThan(5);
    for (const kernels of ['simd', 'js'] as const) {
      useCodecKernels(kernels);
      for (const n of [1, SIMD_MIN_ELEMENTS - 1, SIMD_MIN_ELEMENTS, CHUNK + 5, 3 * CHUNK]) {
        const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 3e38);
        expect(firstNonFinite(data), `${kernels} ${n}`).toBe(-1);
        for (const [k, bad] of nonFinite.entries()) {
          const at = (k * 7919) % n;
          const copy = data.slice();
          copy[at] = bad;
          if (at + 1 < n) copy[n - 1] = Number.NaN;
          expect(firstNonFinite(copy), `${kernels} ${n} ${bad} at ${at}`).toBe(at);
        }
      }
    }
  });
});

describe('SIMD int8 kernels', () => {
  it('match the JavaScript kernels on random tensors of odd lengths and blocks', () => {
    const random = seededRandom(0x1a8);
    const cases: [groups: number, blockLen: number, reps: number][] = [
      [1, 1, 200], [3, 1, 50], [1, 3, 77], [5, 5, 9], [1, 15, 11], [2, MIN_BLOCK, 9], [3, 17, 5], [7, 31, 3], [4, 33, 2],
      [1, 1001, 1], [197, 768, 1], [3, 1000, 3], [1, CHUNK - 1, 1], [2, CHUNK, 1], [3, CHUNK + 1, 2], [1, 3 * CHUNK + 7, 1],
    ];
    for (const [groups, blockLen, reps] of cases) {
      const src = int8Input(random, groups * blockLen * reps, blockLen);
      expectInt8Same(src, groups, blockLen, `groups=${groups} blockLen=${blockLen}`);
    }
  });

  it('empty tensors, all-zero groups (scale 0) and subnormal scales (clamped) match', () => {
    const random = seededRandom(99);
    expectInt8Same(new Float32Array(0), 1, 0, 'empty');
    expectInt8Same(new Float32Array(0), 4, 0, 'empty, 4 groups');
    const zeros = int8Input(random, 4 * 300, 300);
    zeros.fill(0, 300, 600).fill(-0, 900, 1200);
    expectInt8Same(zeros, 4, 300, 'zero groups');
    // absmax / 127 below 2^-126: the scale is subnormal, x * (1 / scale) can pass 127.
    const tiny = normalArray(random, 3 * 500).map((v, i) => v * (i < 500 ? 1e-37 : i < 1000 ? 1e-40 : 1e-44));
    expectInt8Same(tiny, 3, 500, 'subnormal scales');
    const [js] = both(() => quantizeInt8Blocks(tiny, 't', 3, 500));
    expect(js.scales[1]).toBeLessThan(2 ** -126);
  });

  it('dequantize: scales near the float32 limit, negative and non-float32 scales match', () => {
    const random = seededRandom(5);
    const q = Int8Array.from({ length: 4 * 1000 }, () => Math.floor(random() * 255) - 127);
    for (const scales of [[3e38, 1e37, 2.6e36, 1], [-0.5, -0, 0, 1e-45], [0.1, 1 / 3, 1e-7, 7]]) {
      const [js, simd] = both(() => dequantizeInt8Blocks(q, scales, 1000));
      expect(bitDiff(js, simd), `scales ${scales.join(',')}`).toEqual([]);
      expect(simd.every((v) => Number.isFinite(v))).toBe(true);
    }
  });

  it('NaN and Infinity are refused with the same BAD_TENSOR error, wherever they are', () => {
    const random = seededRandom(11);
    for (const [n, blockLen, groups] of [[1000, 1000, 1], [CHUNK * 2 + 5, CHUNK * 2 + 5, 1], [64 * 40, 40, 8], [300, 3, 2]]) {
      for (const bad of [NaN, Infinity, -Infinity]) {
        for (const at of [0, 13, n - 1, Math.floor(n / 2)]) {
          const src = normalArray(random, n);
          src[at] = bad;
          const [js, simd] = both(() => {
            try {
              quantizeInt8Blocks(src, 'x', groups, blockLen);
            } catch (err) {
              return err as DynasplitError;
            }
            return undefined;
          });
          expect(js?.code).toBe(ErrorCodes.BAD_TENSOR);
          expect(simd?.message).toBe(js?.message);
          expect(simd?.details).toEqual(js?.details);
        }
      }
    }
  });
});

function expectUint8Same(src: Float32Array, label: string): void {
  const [js, simd] = both(() => quantizeUint8(src, 't'));
  expect([simd.scale, simd.zeroPoint], `${label} params`).toEqual([js.scale, js.zeroPoint]);
  expect(bitDiff(js.data, simd.data), `${label} data`).toEqual([]);
  const [jsBack, simdBack] = both(() => dequantizeUint8(js.data, js));
  expect(bitDiff(jsBack, simdBack), `${label} dequantized`).toEqual([]);
}

describe('SIMD uint8 kernels', () => {
  it('match the JavaScript kernels: odd lengths, one-signed data, zeros, tiny ranges, ties', () => {
    const random = seededRandom(0x0a8);
    for (const n of [0, 1, 127, 128, 129, 1001, CHUNK - 1, CHUNK + 17, 3 * CHUNK + 5]) {
      expectUint8Same(int8Input(random, n, 7), `n=${n}`);
      expectUint8Same(int8Input(random, n, 7).map(Math.abs), `n=${n} >= 0`);
      expectUint8Same(int8Input(random, n, 7).map((v) => -Math.abs(v)), `n=${n} <= 0`);
    }
    expectUint8Same(new Float32Array(500), 'zeros');
    expectUint8Same(new Float32Array(500).fill(-0), 'negative zeros');
    expectUint8Same(normalArray(random, 500).map((v) => v * 1e-44), 'subnormal range');
    // Values on the half steps of a 0..255 grid: x * inv + zp lands on k + 0.5.
    const grid = Float32Array.from({ length: 600 }, (_, i) => (i % 2 === 0 ? ((i % 255) - 100 + 0.5) / 155 : i === 1 ? -100 / 155 : 155 / 155));
    expectUint8Same(grid, 'ties');
  });

  it('ranges whose float32 scale is a rounded subnormal: values up to ~1.5x past the grid still saturate as the clamp does', () => {
    // (max - min) / 255 just under 1.5 smallest subnormals rounds down to one: x / scale reaches ~382.
    const tiny = 2 ** -149;
    for (const [lo, hi] of [[0, 1.49 * 255 * tiny], [-1.49 * 255 * tiny, 0], [-0.7 * 255 * tiny, 0.79 * 255 * tiny], [0, 2.49 * 255 * tiny], [-0.6 * 255 * tiny, 0]]) {
      const src = Float32Array.from({ length: 3 * CHUNK + 5 }, (_, i) => lo + ((hi - lo) * (i % 997)) / 996);
      expectUint8Same(src, `[${lo}, ${hi}]`);
    }
  });

  it('writeUint8 with parameters of other values (far outside 0..255, past 2^31, non-finite products) clamps as a Uint8ClampedArray store', () => {
    const random = seededRandom(0x51);
    const src = normalArray(random, CHUNK + 9).map((v, i) => (i % 50 === 0 ? v * 1e30 : v));
    src[3] = 3e38;
    src[4] = -3e38;
    for (const params of [{ scale: 1e-3, zeroPoint: 128 }, { scale: 1e-40, zeroPoint: 0 }, { scale: 1e-45, zeroPoint: 255 }, { scale: 0, zeroPoint: 9 }]) {
      const [js, simd] = both(() => writeUint8(src, params, new Uint8Array(src.length)));
      expect(bitDiff(js, simd), JSON.stringify(params)).toEqual([]);
    }
  });

  it('dequantize: large, non-float32 scales and non-integer zero points match', () => {
    const random = seededRandom(6);
    const q = Uint8Array.from({ length: 1000 }, () => Math.floor(random() * 256));
    for (const params of [{ scale: 3e38, zeroPoint: 0 }, { scale: 2.5e36, zeroPoint: 255 }, { scale: 0.1, zeroPoint: 3 }, { scale: 0.5, zeroPoint: 2.5 }, { scale: 0, zeroPoint: 7 }]) {
      const [js, simd] = both(() => dequantizeUint8(q, params));
      expect(bitDiff(js, simd), JSON.stringify(params)).toEqual([]);
    }
  });

  it('NaN and Infinity are refused with the same BAD_TENSOR error', () => {
    const random = seededRandom(12);
    for (const n of [1000, CHUNK + 3]) {
      for (const bad of [NaN, Infinity, -Infinity]) {
        for (const at of [0, n - 1, n - 2, Math.floor(n / 2)]) {
          const src = normalArray(random, n);
          src[at] = bad;
          const [js, simd] = both(() => {
            try {
              quantizeUint8(src, 'x');
            } catch (err) {
              return err as DynasplitError;
            }
            return undefined;
          });
          expect(js?.code).toBe(ErrorCodes.BAD_TENSOR);
          expect(simd?.message).toBe(js?.message);
        }
      }
    }
  });
});

describe('SIMD kernels through the wire codecs', () => {
  const CODECS: CodecName[] = ['fp16', 'int8', 'int8-channel', 'int8-token', 'uint8', 'fp32'];
  it('encodeTensorBytes and decodeTensorBytes give the same bytes and floats', () => {
    const random = seededRandom(0xc0dec);
    for (const shape of [[1, 3, 17, 19], [2, 5, 33], [1, 64, 32, 32], [1, 197, 48], [0, 4, 4]]) {
      const count = shape.reduce((a, b) => a * b, 1);
      const tensor = { name: 'act', shape, data: int8Input(random, count, shape[shape.length - 1]) };
      for (const codec of CODECS) {
        const [js, simd] = both(() => encodeTensorBytes(tensor, codec));
        expect(bitDiff(js, simd), `${codec} [${shape.join(',')}] bytes`).toEqual([]);
        const [jsBack, simdBack] = both(() => decodeTensorBytes(js).data);
        expect(bitDiff(jsBack, simdBack), `${codec} [${shape.join(',')}] decoded`).toEqual([]);
      }
    }
  });
});
