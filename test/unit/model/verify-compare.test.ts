import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { MAX_NOISE_FLOOR, NOISE_FLOOR_MULTIPLE, OutputJudge, noiseFloors } from '../../../model/verify-compare.ts';

const out = (...values: number[]) => ({ y: new ort.Tensor('float32', Float32Array.from(values), [values.length]) });

describe('verify judges a split against the full model and its own rounding', () => {
  it('a difference past the tolerance of a small output passes within a few times the noise floor, and fails past it', () => {
    // A detector's map on noise input: outputs ~5e-3, so 2e-7 of rounding is 4e-5 of the scale.
    const full = [out(5e-3, 1e-3)];
    const plain = [out(5e-3 + 2e-7, 1e-3)];
    const floors = noiseFloors(full, plain);
    expect(floors.get('y')).toBeCloseTo(2e-7, 9); // float32 rounding of the sums
    const within = new OutputJudge(full, floors);
    within.add(out(5e-3 + 3e-7, 1e-3), full[0]);
    expect(within.checks()[0]).toMatchObject({ verdict: 'ok', noiseFloor: floors.get('y') });
    const past = new OutputJudge(full, floors);
    past.add(out(5e-3 + (NOISE_FLOOR_MULTIPLE + 1) * 2e-7, 1e-3), full[0]);
    expect(past.checks()[0].verdict).toBe('fail');
    // Without a floor the same 3e-7 fails: 6e-5 of the scale is past the 1e-5 tolerance.
    const bare = new OutputJudge(full);
    bare.add(out(5e-3 + 3e-7, 1e-3), full[0]);
    expect(bare.checks()[0]).toMatchObject({ verdict: 'fail', noiseFloor: 0 });
  });

  it('a floor too large to be rounding (a model drawing random numbers) is not used', () => {
    const full = [out(1, 0.5)];
    const floors = noiseFloors(full, [out(1 + 2 * MAX_NOISE_FLOOR, 0.5)]);
    expect(floors.get('y')).toBe(0);
    const judge = new OutputJudge(full, floors);
    judge.add(out(1.001, 0.5), full[0]);
    expect(judge.checks()[0].verdict).toBe('fail');
  });

  it('NaN in either run sets no floor, and integer outputs keep exact matching', () => {
    const floors = noiseFloors([out(1, 2)], [out(Number.NaN, 2)]);
    expect(floors.has('y')).toBe(false);
    const ids = { k: new ort.Tensor('int64', BigInt64Array.from([1n, 2n]), [2]) };
    const judge = new OutputJudge([ids], new Map([['k', 10]]));
    judge.add({ k: new ort.Tensor('int64', BigInt64Array.from([1n, 3n]), [2]) }, ids);
    expect(judge.checks()[0]).toMatchObject({ verdict: 'fail', noiseFloor: 0 });
  });
});
