import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../common/index.ts';
import {
  CODEC_NAMES,
  codecFromName,
  codecName,
  decodeTensor,
  encodedDataBytes,
  encodeTensor,
  MAX_TENSOR_ELEMENTS,
  type FloatTensor,
} from '../../../codec/index.ts';
import { Codec, type TensorProperties } from '../../../schemas/index.ts';
import { normalArray, seededRandom } from '../../helpers/random.ts';

function tensor(name: string, shape: number[], seed = 1): FloatTensor {
  return { name, shape, data: normalArray(seededRandom(seed), shape.reduce((a, b) => a * b, 1)) };
}

/** A valid message to break one field at a time. */
function message(codec: Parameters<typeof encodeTensor>[1], shape = [2, 3, 4, 4]): TensorProperties {
  const m = encodeTensor(tensor('feat', shape), codec);
  return { name: m.name, shape: m.shape, codec: m.codec, data: m.data, scales: m.scales, zero_points: m.zero_points, axis: m.axis };
}

function expectCode(fn: () => unknown, code: string, text?: string | RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toMatchObject({ code });
  if (text !== undefined) expect((caught as Error).message).toMatch(text);
}

describe('codec registry', () => {
  it('maps every name to its enum value and back', () => {
    const expected = [Codec.FP32, Codec.FP16, Codec.INT8, Codec.UINT8, Codec.INT8_CHANNEL, Codec.INT8_TOKEN];
    expect(CODEC_NAMES.map(codecFromName)).toEqual(expected);
    expect(expected.map(codecName)).toEqual([...CODEC_NAMES]);
  });

  it('rejects unknown names and values with BAD_ARGS', () => {
    expectCode(() => codecFromName('int4'), ErrorCodes.BAD_ARGS, /unknown codec "int4"/);
    expectCode(() => codecFromName('toString'), ErrorCodes.BAD_ARGS);
    expectCode(() => codecName(Codec.CODEC_UNSPECIFIED), ErrorCodes.BAD_ARGS);
    expectCode(() => codecName(42 as Codec), ErrorCodes.BAD_ARGS);
    expectCode(() => encodeTensor(tensor('x', [2]), 'bf16' as 'fp16'), ErrorCodes.BAD_ARGS);
  });

  it('reports payload sizes per codec', () => {
    const shape = [1, 64, 224, 224];
    expect(CODEC_NAMES.map((c) => encodedDataBytes(shape, c))).toEqual([12845056, 6422528, 3211264, 3211264, 3211264, 3211264]);
    expect(encodedDataBytes([], Codec.FP16)).toBe(2);
  });
});

describe('encodeTensor / decodeTensor', () => {
  it('fills scales, zero points and axis per codec', () => {
    const shape = [2, 3, 4, 4];
    const fields = CODEC_NAMES.map((c) => {
      const m = encodeTensor(tensor('feat', shape), c);
      return [c, m.codec, m.scales.length, m.zero_points.length, m.axis, m.data.length];
    });
    expect(fields).toEqual([
      ['fp32', Codec.FP32, 0, 0, -1, 384],
      ['fp16', Codec.FP16, 0, 0, -1, 192],
      ['int8', Codec.INT8, 1, 0, -1, 96],
      ['uint8', Codec.UINT8, 1, 1, -1, 96],
      ['int8-channel', Codec.INT8_CHANNEL, 3, 0, 1, 96],
      ['int8-token', Codec.INT8_TOKEN, 24, 0, 3, 96],
    ]);
  });

  it('fp32 encodes without copying the input', () => {
    const t = tensor('x', [4, 4]);
    const m = encodeTensor(t, 'fp32');
    expect(m.data.buffer).toBe(t.data.buffer);
  });

  it('round-trips scalars and empty tensors', () => {
    for (const codec of CODEC_NAMES) {
      if (codec === 'int8-channel' || codec === 'int8-token') continue;
      const back = decodeTensor(encodeTensor({ name: 's', shape: [], data: new Float32Array([2.5]) }, codec));
      expect(back.shape).toEqual([]);
      expect(back.data[0]).toBeCloseTo(2.5, 1);
    }
    for (const codec of CODEC_NAMES) {
      const back = decodeTensor(encodeTensor({ name: 'e', shape: [0, 3, 2], data: new Float32Array(0) }, codec));
      expect(back.data).toHaveLength(0);
    }
  });

  it('rejects encoder input that does not match its shape or codec', () => {
    const data = new Float32Array(6);
    expectCode(() => encodeTensor({ name: 'a', shape: [2, 2], data }, 'fp32'), ErrorCodes.BAD_TENSOR, /"a".*6 elements/);
    expectCode(() => encodeTensor({ name: 'a', shape: [2, -3], data }, 'fp32'), ErrorCodes.BAD_TENSOR, /"a": dimension 1/);
    expectCode(() => encodeTensor({ name: 'a', shape: [6], data: Array.from(data) as never }, 'fp32'), ErrorCodes.BAD_TENSOR, /Float32Array/);
    expectCode(() => encodeTensor({ name: 'a', shape: [6], data }, 'int8-channel'), ErrorCodes.BAD_TENSOR, /rank >= 2/);
    expectCode(() => encodeTensor({ name: 'a', shape: [], data: new Float32Array(1) }, 'int8-token'), ErrorCodes.BAD_TENSOR, /scalar/);
    expectCode(() => encodeTensor({ name: 'a', shape: [2], data: new Float32Array([1, NaN]) }, 'int8'), ErrorCodes.BAD_TENSOR, /"a": element 1 is NaN/);
  });
});

describe('decodeTensor rejects inconsistent messages with BAD_TENSOR naming the tensor', () => {
  const cases: Array<[string, TensorProperties, RegExp]> = [
    ['unspecified codec', { ...message('fp32'), codec: Codec.CODEC_UNSPECIFIED }, /codec is unspecified/],
    ['unknown codec', { ...message('fp32'), codec: 99 as Codec }, /unknown codec 99/],
    ['short data', { ...message('fp16'), data: new Uint8Array(191) }, /191 bytes.*needs 192/],
    ['long data', { ...message('int8'), data: new Uint8Array(97) }, /97 bytes.*needs 96/],
    ['negative dimension', { ...message('fp32'), shape: [2, -3, 4, 4] }, /dimension 1 is -3/],
    ['fractional dimension', { ...message('fp32'), shape: [2, 1.5] }, /dimension 1 is 1.5/],
    ['shape product too large', { ...message('fp32'), shape: [65536, 65536, 65536] }, /more than/],
    ['shape product just too large', { ...message('int8'), shape: [MAX_TENSOR_ELEMENTS + 1] }, /more than/],
    ['missing scale', { ...message('int8'), scales: [] }, /0 scales.*needs 1/],
    ['extra scale', { ...message('uint8'), scales: [0.1, 0.2] }, /2 scales.*needs 1/],
    ['channel scales short', { ...message('int8-channel'), scales: [1, 1] }, /2 scales.*needs 3/],
    ['token scales short', { ...message('int8-token'), scales: [1] }, /1 scales.*needs 24/],
    ['scales on fp32', { ...message('fp32'), scales: [1] }, /1 scales.*needs 0/],
    ['negative scale', { ...message('int8'), scales: [-0.5] }, /scale 0 is -0.5/],
    ['NaN scale', { ...message('int8-channel'), scales: [1, NaN, 1] }, /scale 1 is NaN/],
    ['infinite scale', { ...message('uint8'), scales: [Infinity] }, /scale 0 is Infinity/],
    ['missing zero point', { ...message('uint8'), zero_points: [] }, /0 zero points.*needs 1/],
    ['zero point out of range', { ...message('uint8'), zero_points: [256] }, /zero point 0 is 256/],
    ['zero point on int8', { ...message('int8'), zero_points: [0] }, /1 zero points.*needs 0/],
    ['wrong channel axis', { ...message('int8-channel'), axis: 0 }, /axis is 0.*uses axis 1/],
    ['wrong token axis', { ...message('int8-token'), axis: 1 }, /axis is 1.*uses axis 3/],
    ['unset axis on fp32', { ...message('fp32'), axis: 0 }, /axis is 0.*uses axis -1/],
    ['int8-channel on rank 1', { ...message('int8-channel'), shape: [96] }, /rank >= 2/],
    ['int8-token on a scalar', { ...message('int8-token'), shape: [], data: new Uint8Array(1) }, /scalar/],
    ['data not bytes', { ...message('fp32'), data: 'AAAA' as never }, /not bytes/],
  ];
  for (const [label, msg, text] of cases) {
    it(label, () => {
      expectCode(() => decodeTensor(msg), ErrorCodes.BAD_TENSOR, text);
      expectCode(() => decodeTensor(msg), ErrorCodes.BAD_TENSOR, /^tensor "feat": /);
    });
  }

  it('puts the tensor name in the error details and labels a nameless tensor', () => {
    let caught: unknown;
    try {
      decodeTensor({ ...message('fp32'), name: '', codec: 7 as Codec });
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: ErrorCodes.BAD_TENSOR, details: { tensor: '' } });
    expect((caught as Error).message).toMatch(/^tensor "<unnamed>": unknown codec 7/);
  });
});
