import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../common/index.ts';
import {
  CODEC_NAMES,
  decodeTensor,
  decodeTensorBytes,
  encodeTensor,
  encodeTensorBytes,
  tensorError,
  type CodecName,
  type FloatTensor,
} from '../../../codec/index.ts';
import { Tensor } from '../../../schemas/index.ts';
import { normalArray, seededRandom } from '../../helpers/random.ts';

/** A CNN feature map (NCHW) and a transformer activation ([B, T, D]), small enough for unit tests. */
const SHAPES: Record<string, number[]> = { cnn: [2, 16, 7, 7], vit: [2, 13, 48] };

function activation(shape: number[], seed: number): FloatTensor {
  const count = shape.reduce((a, b) => a * b, 1);
  const data = normalArray(seededRandom(seed), count);
  // Spread magnitudes over the channel (cnn) or token (vit) axis, as real activations have.
  const block = shape.length === 4 ? shape[2] * shape[3] : shape[shape.length - 1];
  for (let i = 0; i < count; i++) data[i] *= 1 + (Math.floor(i / block) % 5);
  return { name: 'blocks.3.output', shape, data };
}

/** Largest error a codec may make on `t`, from its own scales (fp16: 2^-11 relative, normal range). */
function errorBound(codec: CodecName, t: FloatTensor): (i: number) => number {
  const m = encodeTensor(t, codec);
  const slack = 1 + 2 ** -20;
  switch (codec) {
    case 'fp32':
      return () => 0;
    case 'fp16':
      return (i) => Math.abs(t.data[i]) * 2 ** -11 + 2 ** -25;
    case 'int8':
    case 'uint8':
      return () => (m.scales[0] / 2) * slack;
    case 'int8-channel':
      return (i) => (m.scales[Math.floor(i / (t.shape[2] * t.shape[3])) % t.shape[1]] / 2) * slack;
    case 'int8-token':
      return (i) => (m.scales[Math.floor(i / t.shape[t.shape.length - 1])] / 2) * slack;
  }
}

describe('tensor wire bytes', () => {
  for (const [label, shape] of Object.entries(SHAPES)) {
    for (const codec of CODEC_NAMES) {
      it(`${codec} round-trips a ${label} activation within its error bound`, () => {
        const t = activation(shape, codec.length + shape.length);
        const back = decodeTensorBytes(encodeTensorBytes(t, codec));
        expect(back.name).toBe(t.name);
        expect(back.shape).toEqual(shape);
        expect(back.data).toHaveLength(t.data.length);
        const bound = errorBound(codec, t);
        const over = [];
        for (let i = 0; i < t.data.length; i++) if (Math.abs(back.data[i] - t.data[i]) > bound(i)) over.push(i);
        expect(over).toEqual([]);
      });
    }
  }

  it('gives relative L2 errors in the documented ranges', () => {
    const t = activation(SHAPES.cnn, 99);
    const relL2 = Object.fromEntries(CODEC_NAMES.map((c) => [c, tensorError(t.data, decodeTensorBytes(encodeTensorBytes(t, c)).data).relL2]));
    expect(relL2.fp32).toBe(0);
    expect(relL2.fp16).toBeLessThan(2 ** -11);
    for (const c of ['int8', 'uint8', 'int8-channel', 'int8-token']) expect(relL2[c]).toBeLessThan(0.03);
    expect(relL2['int8-channel']).toBeLessThan(relL2.int8);
  });

  it('is an ordinary Tensor message: the same fields as encodeTensor, whatever the field order', () => {
    const t = activation(SHAPES.vit, 7);
    for (const codec of CODEC_NAMES) {
      const fromBytes = Tensor.toObject(Tensor.decode(encodeTensorBytes(t, codec)), { defaults: true, bytes: Array });
      const fromMessage = Tensor.toObject(Tensor.decode(Tensor.encode(encodeTensor(t, codec)).finish()), { defaults: true, bytes: Array });
      expect(fromBytes).toEqual(fromMessage);
      // ...and bytes serialized in field-number order by the generated code decode as well.
      expect(decodeTensorBytes(Tensor.encode(encodeTensor(t, codec)).finish()).data).toEqual(decodeTensor(encodeTensor(t, codec)).data);
    }
  });

  it('fp32 decodes as a view of aligned bytes and copies unaligned ones', () => {
    const t = activation(SHAPES.cnn, 3);
    const bytes = encodeTensorBytes(t, 'fp32');
    const view = decodeTensorBytes(bytes);
    expect(view.data.buffer).toBe(bytes.buffer);
    // One byte off the encoder's placement, which put the payload on a 4-byte boundary.
    const offset = bytes.byteOffset + 1;
    const shifted = new Uint8Array(bytes.length + offset).subarray(offset);
    shifted.set(bytes);
    const copy = decodeTensorBytes(shifted);
    expect(copy.data.buffer).not.toBe(shifted.buffer);
    expect(copy.data).toEqual(t.data);
  });

  it('decodes fp16 from unaligned bytes', () => {
    const t = activation(SHAPES.vit, 4);
    const bytes = encodeTensorBytes(t, 'fp16');
    for (const offset of [1, 2, 3]) {
      const shifted = new Uint8Array(bytes.length + offset).subarray(offset);
      shifted.set(bytes);
      expect(decodeTensorBytes(shifted).data).toEqual(decodeTensorBytes(bytes).data);
    }
  });

  it('turns protobuf failures into BAD_TENSOR', () => {
    const bytes = encodeTensorBytes(activation(SHAPES.vit, 5), 'int8');
    for (const bad of [bytes.subarray(0, bytes.length - 10), new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), new Uint8Array([0x07])]) {
      let caught: unknown;
      try {
        decodeTensorBytes(bad);
      } catch (err) {
        caught = err;
      }
      expect(caught).toMatchObject({ code: ErrorCodes.BAD_TENSOR });
    }
  });

  it('rejects well-formed protobuf that is not a consistent tensor', () => {
    const truncatedPayload = Tensor.encode({ name: 'x', shape: [4], codec: 1, data: new Uint8Array(15), axis: -1 }).finish();
    expect(() => decodeTensorBytes(truncatedPayload)).toThrow(/tensor "x": data has 15 bytes/);
    expect(() => decodeTensorBytes(new Uint8Array(0))).toThrow(/codec is unspecified/);
  });

  it('reports encoder errors like encodeTensor', () => {
    const t = activation(SHAPES.vit, 6);
    t.data[5] = Infinity;
    expect(() => encodeTensorBytes(t, 'int8-token')).toThrow(/tensor "blocks.3.output": element 5 is Infinity/);
    expect(() => encodeTensorBytes(t, 'int4' as CodecName)).toThrow(/unknown codec "int4"/);
  });
});
