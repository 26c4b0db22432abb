import { describe, expect, it } from 'vitest';
import { decodeTensor } from '../../../codec/index.ts';
import { SYNTHETIC_VARIANTS, syntheticFrames, syntheticInputs } from '../../../workload/index.ts';

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

describe('synthetic frames', () => {
  const image = { name: 'image', shape: [1, 3, 4, 4], dtype: 'float32' };
  const meta = { name: 'meta', shape: [1, 4], dtype: 'float32' };

  it('carry every input of the model, named as it, the first as the frame tensor and the rest as its inputs', () => {
    const frames = syntheticFrames([image, meta], 7, 3);
    expect(frames).toHaveLength(3);
    for (const f of frames) {
      expect(f.tensor.name).toBe('image');
      expect(f.inputs.map((t) => t.name)).toEqual(['meta']);
      expect(Object.keys(f.data)).toEqual(['image', 'meta']);
      expect(decodeTensor(f.inputs[0]).shape).toEqual(meta.shape);
      expect(Array.from(decodeTensor(f.inputs[0]).data)).toEqual(Array.from(f.data.meta));
    }
    expect(frames[1].data.meta).not.toEqual(frames[0].data.meta);
    expect(syntheticFrames([image, meta], 7, 3)).toEqual(frames);
  });

  it('give a one-input model the single-input generator\'s values, and two inputs of one shape different values', () => {
    const [one] = syntheticFrames([image], 7, 1);
    expect(one.inputs).toEqual([]);
    expect(one.data.image).toEqual(syntheticInputs(image.shape, 7, 1)[0].data);
    const [twin] = syntheticFrames([image, { ...image, name: 'other' }], 7, 1);
    expect(twin.data.image).toEqual(one.data.image);
    expect(twin.data.other).not.toEqual(twin.data.image);
  });

  it('refuse an input that is not float32 by name and type, rather than send noise as token ids', () => {
    const ids = { name: 'input_ids', shape: [1, 16], dtype: 'int64' };
    let err: unknown;
    try { syntheticFrames([image, ids], 7); } catch (e) { err = e; }
    expect(err).toMatchObject({ code: 'DYNASPLIT_ERR_UNSUPPORTED_MODEL', details: { tensor: 'input_ids', dtype: 'int64' } });
    expect((err as Error).message).toMatch(/'input_ids' is int64/);
  });
});
