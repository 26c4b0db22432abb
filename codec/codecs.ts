/**
 * Codec registry and the float32 tensor <-> wire `Tensor` message conversion (docs/codecs.md).
 * Decoding trusts nothing in the message: every field is checked against the shape and the codec,
 * and every failure is a BAD_TENSOR error naming the tensor, so a bad frame from the network
 * becomes a coded error rather than a crash or a garbage tensor.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { Codec, Tensor, type TensorProperties } from '../schemas/index.ts';
import type { Float32Source } from './buffer-pool.ts';
import { decodeFp16, encodeFp16 } from './fp16.ts';
import { channelBlocks, dequantizeInt8Blocks, dequantizeUint8, quantizeInt8Blocks, quantizeUint8, tokenBlocks } from './quantize.ts';
import { alignedView, badTensor, bytesOf, elementCount, isAligned } from './validate.ts';

/** A decoded tensor: the logical dtype is always float32, row-major. */
export interface FloatTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Codec names as used in options, policies and the CLI, in enum order. */
export const CODEC_NAMES = ['fp32', 'fp16', 'int8', 'uint8', 'int8-channel', 'int8-token'] as const;
export type CodecName = (typeof CODEC_NAMES)[number];

export const ENUM_BY_NAME: Readonly<Record<CodecName, Codec>> = {
  fp32: Codec.FP32,
  fp16: Codec.FP16,
  int8: Codec.INT8,
  uint8: Codec.UINT8,
  'int8-channel': Codec.INT8_CHANNEL,
  'int8-token': Codec.INT8_TOKEN,
};
const NAME_BY_ENUM = new Map<number, CodecName>(CODEC_NAMES.map((n) => [ENUM_BY_NAME[n], n]));
export const BYTES_PER_ELEMENT: Readonly<Record<CodecName, number>> = {
  fp32: 4, fp16: 2, int8: 1, uint8: 1, 'int8-channel': 1, 'int8-token': 1,
};

/** The enum value of a codec name; throws BAD_ARGS for an unknown name. */
export function codecFromName(name: string): Codec {
  if (!Object.hasOwn(ENUM_BY_NAME, name)) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `unknown codec "${name}"; expected one of ${CODEC_NAMES.join(', ')}`, {
      details: { codec: name },
    });
  }
  return ENUM_BY_NAME[name as CodecName];
}

/** The name of a codec enum value; throws BAD_ARGS for an unknown or unspecified value. */
export function codecName(codec: Codec): CodecName {
  const name = NAME_BY_ENUM.get(codec);
  if (name === undefined) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `unknown codec value ${codec}`, { details: { codec } });
  }
  return name;
}

/** A codec given by name or enum value, as its name; throws BAD_ARGS when unknown. */
function resolve(codec: CodecName | Codec): CodecName {
  if (typeof codec === 'number') return codecName(codec);
  codecFromName(codec);
  return codec;
}

/** Where the scales of a codec apply for one shape (see quantize.ts for groups and blocks). */
export interface Layout {
  /** Number of scales on the wire. */
  scales: number;
  /** Elements per contiguous block that shares a scale. */
  blockLen: number;
  /** Value of the `axis` field. */
  axis: number;
  /** Number of zero points on the wire. */
  zeroPoints: number;
}

function layoutOf(codec: CodecName, name: string, shape: readonly number[], count: number): Layout {
  switch (codec) {
    case 'fp32':
    case 'fp16':
      return { scales: 0, blockLen: count, axis: -1, zeroPoints: 0 };
    case 'int8':
      return { scales: 1, blockLen: count, axis: -1, zeroPoints: 0 };
    case 'uint8':
      return { scales: 1, blockLen: count, axis: -1, zeroPoints: 1 };
    case 'int8-channel': {
      if (shape.length < 2) throw badTensor(name, `int8-channel needs rank >= 2 (NCHW); shape is [${shape.join(',')}]`, { shape });
      const { groups, blockLen } = channelBlocks(shape);
      return { scales: groups, blockLen, axis: 1, zeroPoints: 0 };
    }
    case 'int8-token': {
      if (shape.length < 1) throw badTensor(name, 'int8-token needs rank >= 1 ([..., D]); the tensor is a scalar', { shape });
      const { groups, blockLen } = tokenBlocks(shape);
      return { scales: groups, blockLen, axis: shape.length - 1, zeroPoints: 0 };
    }
  }
}

/**
 * Bytes of the `data` field for a tensor of `shape` in `codec` (the scales add 4 bytes each).
 * Throws BAD_ARGS for an unknown codec, BAD_TENSOR for a bad shape.
 */
export function encodedDataBytes(shape: readonly number[], codec: CodecName | Codec): number {
  return elementCount('<shape>', shape) * BYTES_PER_ELEMENT[resolve(codec)];
}

/** What encoding a tensor in a codec needs, after validating both. */
export interface EncodePlan {
  codec: CodecName;
  count: number;
  layout: Layout;
}

/** Validates an input tensor and codec: BAD_ARGS for an unknown codec, BAD_TENSOR for the tensor. */
export function planEncode(t: FloatTensor, codec: CodecName | Codec): EncodePlan {
  const name = resolve(codec);
  if (typeof t.name !== 'string') throw badTensor(String(t.name), 'name is not a string');
  if (!Array.isArray(t.shape)) throw badTensor(t.name, 'shape is not an array');
  const count = elementCount(t.name, t.shape);
  if (!(t.data instanceof Float32Array)) throw badTensor(t.name, 'data is not a Float32Array');
  if (t.data.length !== count) {
    throw badTensor(t.name, `data has ${t.data.length} elements; shape [${t.shape.join(',')}] has ${count}`, { shape: t.shape });
  }
  return { codec: name, count, layout: layoutOf(name, t.name, t.shape, count) };
}

/**
 * Encodes a float32 tensor into a wire message. For fp32 the message's `data` is a view of
 * `t.data` (no copy): do not modify `t.data` until the message has been serialized.
 * Throws BAD_ARGS for an unknown codec, BAD_TENSOR for a tensor that does not fit its shape or
 * holds NaN/Infinity under an 8-bit codec.
 */
export function encodeTensor(t: FloatTensor, codec: CodecName | Codec): Tensor {
  const plan = planEncode(t, codec);
  return Tensor.create({
    name: t.name,
    shape: t.shape.slice(),
    codec: ENUM_BY_NAME[plan.codec],
    axis: plan.layout.axis,
    ...encodePayload(plan.codec, t, plan.layout),
  });
}

type Payload = Required<Pick<TensorProperties, 'data' | 'scales' | 'zero_points'>>;

function encodePayload(codec: CodecName, t: FloatTensor, layout: Layout): Payload {
  switch (codec) {
    case 'fp32':
      return { data: bytesOf(t.data), scales: [], zero_points: [] };
    case 'fp16':
      return { data: bytesOf(encodeFp16(t.data)), scales: [], zero_points: [] };
    case 'uint8': {
      const q = quantizeUint8(t.data, t.name);
      return { data: q.data, scales: [q.scale], zero_points: [q.zeroPoint] };
    }
    case 'int8':
    case 'int8-channel':
    case 'int8-token': {
      const q = quantizeInt8Blocks(t.data, t.name, layout.scales, layout.blockLen);
      return { data: bytesOf(q.data), scales: Array.from(q.scales), zero_points: [] };
    }
  }
}

/** Where decodeTensor writes values it has to convert or copy. */
export interface DecodeOptions {
  /**
   * An array of at least the tensor's element count, or a pool to take one from (asked only once
   * the message has passed every check, and only when the values need memory of their own). The
   * decoded data is then a view of its first `count` elements; the caller owns the array and must
   * not reuse it while the tensor is in use. Without it, the decoder allocates.
   */
  into?: Float32Array | Float32Source;
}

/**
 * Decodes and validates a wire message. For fp32 the returned data is a view of `msg.data` when
 * that is 4-byte aligned (no copy): do not reuse the message's bytes while the tensor is in use;
 * unaligned fp32 bytes are copied, and the other codecs convert, into `options.into` when given.
 * Throws BAD_TENSOR, naming the tensor, for anything inconsistent (before `into` is touched), and
 * RangeError for an `into` array shorter than the tensor (a programming error).
 */
export function decodeTensor(msg: TensorProperties, options: DecodeOptions = {}): FloatTensor {
  const name = typeof msg.name === 'string' ? msg.name : '';
  const codec = codecOf(msg.codec, name);
  const shape = msg.shape ?? [];
  if (!Array.isArray(shape)) throw badTensor(name, 'shape is not an array');
  const count = elementCount(name, shape);
  const layout = layoutOf(codec, name, shape, count);
  const data = msg.data ?? new Uint8Array(0);
  if (!(data instanceof Uint8Array)) throw badTensor(name, 'data is not bytes');
  const expected = count * BYTES_PER_ELEMENT[codec];
  if (data.byteLength !== expected) {
    throw badTensor(name, `data has ${data.byteLength} bytes; ${codec} shape [${shape.join(',')}] needs ${expected}`, {
      shape, codec, bytes: data.byteLength, expected,
    });
  }
  const scales = checkScales(msg, name, codec, layout);
  const zeroPoints = checkZeroPoints(msg, name, codec, layout);
  checkAxis(msg.axis ?? 0, name, codec, layout);
  return { name, shape, data: decodePayload(codec, data, scales, zeroPoints, layout, output(options.into, count)) };
}

/** The output of `count` elements: taken from `into` when given (on first use), else allocated. */
function output(into: DecodeOptions['into'], count: number): () => Float32Array {
  return () => {
    if (into === undefined) return new Float32Array(count);
    const array = into instanceof Float32Array ? into : into.acquire(count);
    if (array.length < count) throw new RangeError(`decode output has ${array.length} elements; the tensor has ${count}`);
    return array.length === count ? array : array.subarray(0, count);
  };
}

function codecOf(value: Codec | null | undefined, name: string): CodecName {
  const codec = NAME_BY_ENUM.get(value ?? Codec.CODEC_UNSPECIFIED);
  if (codec === undefined) {
    const what = (value ?? 0) === Codec.CODEC_UNSPECIFIED ? 'codec is unspecified (0)' : `unknown codec ${value}`;
    throw badTensor(name, what, { codec: value ?? 0 });
  }
  return codec;
}

function checkScales(msg: TensorProperties, name: string, codec: CodecName, layout: Layout): number[] {
  const scales = msg.scales ?? [];
  if (scales.length !== layout.scales) {
    throw badTensor(name, `has ${scales.length} scales; ${codec} for this shape needs ${layout.scales}`, { codec });
  }
  for (let i = 0; i < scales.length; i++) {
    const s = scales[i];
    // Written as a negation so NaN fails too.
    if (!(typeof s === 'number' && s >= 0 && s < Infinity)) {
      throw badTensor(name, `scale ${i} is ${s}; scales are finite and >= 0`, { index: i });
    }
  }
  return scales;
}

function checkZeroPoints(msg: TensorProperties, name: string, codec: CodecName, layout: Layout): number[] {
  const points = msg.zero_points ?? [];
  if (points.length !== layout.zeroPoints) {
    throw badTensor(name, `has ${points.length} zero points; ${codec} needs ${layout.zeroPoints}`, { codec });
  }
  for (let i = 0; i < points.length; i++) {
    const z = points[i];
    if (!Number.isInteger(z) || z < 0 || z > 255) {
      throw badTensor(name, `zero point ${i} is ${z}; uint8 zero points are integers in [0, 255]`, { index: i });
    }
  }
  return points;
}

function checkAxis(axis: number, name: string, codec: CodecName, layout: Layout): void {
  if (axis !== layout.axis) {
    throw badTensor(name, `axis is ${axis}; ${codec} for this shape uses axis ${layout.axis}`, { codec, axis });
  }
}

function decodePayload(
  codec: CodecName, data: Uint8Array, scales: number[], zeroPoints: number[], layout: Layout, out: () => Float32Array,
): Float32Array {
  switch (codec) {
    case 'fp32':
      return isAligned(data, 4) ? alignedView(data, Float32Array) : copyInto(data, out());
    case 'fp16':
      return decodeFp16Bytes(data, out);
    case 'uint8':
      return dequantizeUint8(data, { scale: scales[0], zeroPoint: zeroPoints[0] }, out());
    case 'int8':
    case 'int8-channel':
    case 'int8-token':
      return dequantizeInt8Blocks(new Int8Array(data.buffer, data.byteOffset, data.byteLength), scales, layout.blockLen, out());
  }
}

/** Unaligned float32 bytes copied into `out` (whose length is their count). */
function copyInto(bytes: Uint8Array, out: Float32Array): Float32Array {
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
  return out;
}

/**
 * fp16 bytes to floats. Aligned bytes are read through a view. Unaligned ones are first copied
 * into the upper half of the output's own memory, which is 2-byte aligned, and widened from there
 * in place: both kernels (JavaScript element by element, SIMD chunk by chunk) read element i
 * before they write output i, and output i ends at byte 4i + 4 <= 2n + 2i + 2 (i < n), where
 * input i + 1 starts, so no input is overwritten before it is read. So the unaligned case needs no
 * memory beyond the output.
 */
function decodeFp16Bytes(bytes: Uint8Array, out: () => Float32Array): Float32Array {
  if (isAligned(bytes, 2)) return decodeFp16(alignedView(bytes, Uint16Array), out());
  const floats = out();
  const n = floats.length;
  const upper = new Uint8Array(floats.buffer, floats.byteOffset + 2 * n, 2 * n);
  upper.set(bytes);
  return decodeFp16(new Uint16Array(upper.buffer, upper.byteOffset, n), floats);
}
