import { describe, expect, it } from 'vitest';
import { decodeTensor } from '../../../codec/index.ts';
import { SYNTHETIC_VARIANTS, syntheticInputs } from '../../../workload/index.ts';

describe('synthetic inputs', () => {
  it('are seeded, distinct per variant, and the wire tensor carries the same values', () => {
    const shape = [1, 3, 4, 4];
    const a = syntheticInputs(shape, 7);
    expect(a).toHaveLength(SYNTHETIC_VARIANTS);
    expect(syntheticInputs(shape, 7, 3).map((x) => x.data)).toEqual(a.slice(0, 3).map((x) => x.data));
    expect(syntheticInputs(shape, 8, 1)[0].data).not.toEqual(a[0].data);
    expect(a[1].data).not.toEqual(a[0].data);
    const wire = decodeTensor(a[2].tensor);
    expect(wire.shape).toEqual(shape);
    expect(Array.from(wire.data)).toEqual(Array.from(a[2].data));
  });
});
