import { describe, expect, it } from 'vitest';
import { Codec, Tensor } from '../../../schemas/index.ts';

describe('schemas front door', () => {
  it('exposes the Tensor message with snake_case fields and the Codec enum', () => {
    const bytes = Tensor.encode({ name: 'x', shape: [2], codec: Codec.UINT8, data: new Uint8Array([1, 2]), scales: [0.5], zero_points: [3], axis: -1 }).finish();
    const msg = Tensor.decode(bytes);
    expect(msg).toMatchObject({ name: 'x', shape: [2], codec: Codec.UINT8, scales: [0.5], zero_points: [3], axis: -1 });
    expect(Array.from(msg.data)).toEqual([1, 2]);
    expect([Codec.CODEC_UNSPECIFIED, Codec.FP32, Codec.FP16, Codec.INT8, Codec.UINT8, Codec.INT8_CHANNEL, Codec.INT8_TOKEN]).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
