import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../common/index.ts';
import { tensorError } from '../../../codec/index.ts';

const f32 = (values: number[]): Float32Array => new Float32Array(values);

describe('tensorError', () => {
  it('is zero for identical tensors, including all-zero and empty ones', () => {
    expect(tensorError(f32([1, -2, 3]), f32([1, -2, 3]))).toEqual({ maxAbs: 0, relL2: 0 });
    expect(tensorError(f32([0, 0]), f32([0, 0]))).toEqual({ maxAbs: 0, relL2: 0 });
    expect(tensorError(f32([]), f32([]))).toEqual({ maxAbs: 0, relL2: 0 });
  });

  it('measures the largest absolute and the relative L2 error', () => {
    const { maxAbs, relL2 } = tensorError(f32([3, 4]), f32([3, 3.5]));
    expect(maxAbs).toBe(0.5);
    expect(relL2).toBeCloseTo(0.5 / 5, 12);
  });

  it('is infinite relative error against an all-zero reference', () => {
    expect(tensorError(f32([0, 0]), f32([0, 1]))).toEqual({ maxAbs: 1, relL2: Infinity });
  });

  it('counts matching NaN and Infinity as exact and any other non-finite mismatch as infinite', () => {
    expect(tensorError(f32([NaN, Infinity, 1]), f32([NaN, Infinity, 1]))).toEqual({ maxAbs: 0, relL2: 0 });
    expect(tensorError(f32([NaN, 1]), f32([0, 1])).maxAbs).toBe(Infinity);
    expect(tensorError(f32([Infinity, 1]), f32([-Infinity, 1])).maxAbs).toBe(Infinity);
    expect(tensorError(f32([1, 1]), f32([NaN, 1])).relL2).toBe(Infinity);
  });

  it('rejects tensors of different lengths with BAD_ARGS', () => {
    expect(() => tensorError(f32([1]), f32([1, 2]))).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_ARGS }));
  });
});
