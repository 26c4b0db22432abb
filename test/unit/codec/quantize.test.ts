import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../common/index.ts';
import {
  channelBlocks,
  dequantizeInt8Blocks,
  dequantizeUint8,
  quantizeInt8Blocks,
  quantizeUint8,
  tensorError,
  tokenBlocks,
} from '../../../codec/index.ts';
import { normalArray, seededRandom, uniformArray } from '../../helpers/random.ts';

/** Float32 slack on top of the scale/2 bound: scale and result are both rounded to float32. */
const SLACK = 1 + 2 ** -20;

function roundTripInt8(src: Float32Array, groups: number, blockLen: number): { back: Float32Array; scales: Float32Array; q: Int8Array } {
  const { data, scales } = quantizeInt8Blocks(src, 't', groups, blockLen);
  return { back: dequantizeInt8Blocks(data, scales, blockLen), scales, q: data };
}

/** Largest |x - x'| / (scale of x's group / 2); <= 1 means the bound holds everywhere. */
function worstHalfStepRatio(src: Float32Array, back: Float32Array, scales: Float32Array, blockLen: number): number {
  let worst = 0;
  for (let i = 0; i < src.length; i++) {
    const s = scales[Math.floor(i / blockLen) % scales.length];
    const err = Math.abs(src[i] - back[i]);
    worst = Math.max(worst, s === 0 ? (err === 0 ? 0 : Infinity) : err / (s / 2));
  }
  return worst;
}

function expectBadTensor(fn: () => unknown, name: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toMatchObject({ code: ErrorCodes.BAD_TENSOR });
    expect((err as Error).message).toContain(`"${name}"`);
    return;
  }
  throw new Error('expected a BAD_TENSOR error');
}

describe('symmetric int8', () => {
  it('per tensor: error <= scale / 2, absmax maps to ±127, -128 unused', () => {
    const src = normalArray(seededRandom(1), 10_000, 3);
    const { back, scales, q } = roundTripInt8(src, 1, src.length);
    expect(worstHalfStepRatio(src, back, scales, src.length)).toBeLessThanOrEqual(SLACK);
    expect(Math.max(...Array.from(q, Math.abs))).toBe(127);
    expect(q.includes(-128)).toBe(false);
  });

  it('per channel beats per tensor when channel ranges differ by orders of magnitude', () => {
    const shape = [2, 8, 6, 6];
    const { groups, blockLen } = channelBlocks(shape);
    const src = new Float32Array(2 * 8 * 36);
    const noise = normalArray(seededRandom(2), src.length);
    for (let i = 0; i < src.length; i++) src[i] = noise[i] * 10 ** ((Math.floor(i / 36) % 8) - 4);
    const channel = roundTripInt8(src, groups, blockLen);
    const tensor = roundTripInt8(src, 1, src.length);
    expect(worstHalfStepRatio(src, channel.back, channel.scales, blockLen)).toBeLessThanOrEqual(SLACK);
    expect(channel.scales).toHaveLength(8);
    // Whole-tensor relL2 is dominated by the largest channel; what per-channel buys is that the
    // small channels survive, so compare the worst channel.
    const worstChannel = (back: Float32Array): number => {
      let worst = 0;
      for (let b = 0; b < src.length / blockLen; b++) {
        const range = [b * blockLen, (b + 1) * blockLen] as const;
        worst = Math.max(worst, tensorError(src.subarray(...range), back.subarray(...range)).relL2);
      }
      return worst;
    };
    expect(worstChannel(channel.back)).toBeLessThan(0.02);
    expect(worstChannel(tensor.back)).toBeGreaterThan(0.5);
    expect(tensorError(src, channel.back).relL2).toBeLessThan(tensorError(src, tensor.back).relL2);
  });

  it('per token beats per tensor when a few tokens carry outliers', () => {
    const shape = [2, 10, 32];
    const { groups, blockLen } = tokenBlocks(shape);
    const src = normalArray(seededRandom(3), 2 * 10 * 32);
    for (let d = 0; d < 32; d++) src[3 * 32 + d] *= 100; // token 3 of batch 0, like ViT's outlier tokens
    const token = roundTripInt8(src, groups, blockLen);
    const tensor = roundTripInt8(src, 1, src.length);
    expect(token.scales).toHaveLength(20);
    expect(worstHalfStepRatio(src, token.back, token.scales, blockLen)).toBeLessThanOrEqual(SLACK);
    // Every ordinary token is far better off; the relative L2 error falls with them.
    const ordinary = Array.from({ length: src.length }, (_, i) => i).filter((i) => Math.floor(i / 32) !== 3);
    const err = (back: Float32Array): number => Math.max(...ordinary.map((i) => Math.abs(src[i] - back[i])));
    expect(err(token.back) * 20).toBeLessThan(err(tensor.back));
    expect(tensorError(src, token.back).relL2).toBeLessThan(tensorError(src, tensor.back).relL2);
  });

  it('all-zero tensors and channels get scale 0 and decode to exact zeros', () => {
    const src = new Float32Array(4 * 9);
    src.fill(1.5, 9, 18); // channel 1 only
    const { back, scales } = roundTripInt8(src, 4, 9);
    expect(Array.from(scales)).toEqual([0, Math.fround(1.5 / 127), 0, 0]);
    expect(Array.from(back)).toEqual(Array.from(src));
    const zeros = roundTripInt8(new Float32Array(16), 1, 16);
    expect(zeros.scales[0]).toBe(0);
    expect(zeros.back.every((x) => x === 0)).toBe(true);
  });

  it('a tensor too tiny for a float32 scale decodes to zeros, not NaN', () => {
    const src = new Float32Array([1e-44, -1e-44, 0]);
    const { back, scales } = roundTripInt8(src, 1, 3);
    expect(scales[0]).toBe(0);
    expect(Array.from(back)).toEqual([0, 0, 0]);
  });

  it('rejects NaN and Infinity with BAD_TENSOR naming the tensor and the element', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const src = new Float32Array([0, 1, bad, 2]);
      expectBadTensor(() => quantizeInt8Blocks(src, 'conv1', 1, 4), 'conv1');
      expect(() => quantizeInt8Blocks(src, 'conv1', 2, 2)).toThrow(/element 2/);
    }
  });

  it('rejects block layouts that do not tile the tensor (a programming error)', () => {
    expect(() => quantizeInt8Blocks(new Float32Array(10), 't', 3, 3)).toThrow(RangeError);
    expect(() => quantizeInt8Blocks(new Float32Array(10), 't', 1, 0)).toThrow(RangeError);
    expect(() => channelBlocks([5])).toThrow(RangeError);
    expect(() => tokenBlocks([])).toThrow(RangeError);
  });
});

describe('asymmetric uint8', () => {
  it('error <= scale / 2 and zero decodes exactly', () => {
    const src = uniformArray(seededRandom(4), 10_000, -1, 3);
    src[17] = 0;
    const q = quantizeUint8(src, 't');
    const back = dequantizeUint8(q.data, q);
    expect(back[17]).toBe(0);
    let worst = 0;
    for (let i = 0; i < src.length; i++) worst = Math.max(worst, Math.abs(src[i] - back[i]));
    expect(worst).toBeLessThanOrEqual((q.scale / 2) * SLACK);
    expect(q.scale).toBe(Math.fround((Math.max(...src) - Math.min(...src)) / 255));
  });

  it('uses the whole range for ReLU outputs (zero point 0) and all-negative tensors (255)', () => {
    const relu = uniformArray(seededRandom(5), 1000, 0, 6);
    expect(quantizeUint8(relu, 't').zeroPoint).toBe(0);
    expect(Math.max(...quantizeUint8(relu, 't').data)).toBe(255);
    const negative = uniformArray(seededRandom(6), 1000, -6, -1);
    expect(quantizeUint8(negative, 't').zeroPoint).toBe(255);
  });

  it('an all-zero tensor gets scale 0 and decodes to zeros', () => {
    const q = quantizeUint8(new Float32Array(8), 't');
    expect(q).toMatchObject({ scale: 0, zeroPoint: 0 });
    expect(Array.from(dequantizeUint8(q.data, q))).toEqual(new Array(8).fill(0));
  });

  it('rejects NaN and Infinity with BAD_TENSOR naming the tensor', () => {
    expectBadTensor(() => quantizeUint8(new Float32Array([1, NaN]), 'fc7'), 'fc7');
    expectBadTensor(() => quantizeUint8(new Float32Array([-Infinity]), 'fc7'), 'fc7');
  });
});
