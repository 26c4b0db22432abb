/**
 * Float32 tensor <-> protobuf wire bytes of a `dynasplit.v1.Tensor` (docs/codecs.md).
 *
 * Encoding writes the small fields through the generated code, then appends the int8 codecs'
 * `scales` as one packed block (the generated code writes a packed float one value at a time: 0.9
 * ms for the 14,336 scales of int8-token on a [1,64,224,224] map, where the block is one copy) and
 * `data` itself as the last field, converting or quantizing the values straight into the output
 * buffer: one pass over the input and one allocation, where encode-then-serialize would copy the
 * payload twice more.
 * Protobuf parsers accept fields in any order (protobuf.dev/programming-guides/encoding, "Field
 * Order"), so the result is an ordinary Tensor message.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { Tensor, type Codec } from '../schemas/index.ts';
import {
  BYTES_PER_ELEMENT, ENUM_BY_NAME, decodeTensor, planEncode, type CodecName, type DecodeOptions, type EncodePlan, type FloatTensor,
} from './codecs.ts';
import { encodeFp16 } from './fp16.ts';
import { int8Scales, uint8Params, writeInt8, writeUint8, type Uint8Params } from './quantize.ts';
import { badTensor } from './validate.ts';

/** Tag of `bytes data = 4` (tensor.proto): field 4, wire type 2 (length-delimited). */
const DATA_TAG = (4 << 3) | 2;
/** Tag of `repeated float scales = 5`, packed: field 5, wire type 2; little-endian float32 values (the host's order: ./validate.ts). */
const SCALES_TAG = (5 << 3) | 2;
/** Largest length-delimited field protobuf implementations accept: 2 GiB - 1 bytes. */
const MAX_FIELD_BYTES = 0x7fffffff;

/** Parameters known before the values are written: they go into the header. */
type Params = { scales: Float32Array } | { uint8: Uint8Params } | null;

/** Where encodeTensorBytes writes the message. */
export interface EncodeOptions {
  /**
   * Bytes to write the message into instead of a fresh buffer, at least encodeBufferBytes(t, codec)
   * long; the result is a view of them. The caller must not reuse them while the message is in use.
   */
  into?: Uint8Array;
}

/**
 * Serializes a float32 tensor to protobuf wire bytes. The result views a fresh buffer (or
 * `options.into`) in which the payload starts 4-byte aligned. Throws like encodeTensor (before
 * `into` is written), BAD_TENSOR above 2 GiB of payload, and RangeError for an `into` too short
 * (a programming error).
 */
export function encodeTensorBytes(t: FloatTensor, codec: CodecName | Codec, options: EncodeOptions = {}): Uint8Array {
  const plan = planEncode(t, codec);
  const dataBytes = plan.count * BYTES_PER_ELEMENT[plan.codec];
  if (dataBytes > MAX_FIELD_BYTES) {
    throw badTensor(t.name, `${dataBytes} bytes of ${plan.codec} data exceed the 2 GiB protobuf field limit`);
  }
  const params = computeParams(t, plan);
  const header = encodeHeader(t, plan, params);
  const scales = params !== null && 'scales' in params && params.scales.length > 0
    ? new Uint8Array(params.scales.buffer, params.scales.byteOffset, params.scales.byteLength) : undefined;
  const scalesField = scales ? 1 + varintSize(scales.length) + scales.length : 0;
  const prefix = header.length + scalesField + 1 + varintSize(dataBytes);
  const { buffer, start } = target(options.into, prefix, prefix + dataBytes);
  const out = new Uint8Array(buffer, start, prefix + dataBytes);
  out.set(header, 0);
  let at = header.length;
  if (scales) {
    out[at] = SCALES_TAG;
    at = writeVarint(out, at + 1, scales.length);
    out.set(scales, at);
    at += scales.length;
  }
  out[at] = DATA_TAG;
  writeVarint(out, at + 1, dataBytes);
  writeValues(t, plan, params, buffer, start + prefix);
  return out;
}

/**
 * Where a message of `bytes` bytes starts: at an offset of the buffer that puts the payload, after
 * `prefix` bytes, on a 4-byte boundary, which lets fp32 and fp16 write through typed-array views.
 */
function target(into: Uint8Array | undefined, prefix: number, bytes: number): { buffer: ArrayBufferLike; start: number } {
  const base = into?.byteOffset ?? 0;
  const pad = (4 - ((base + prefix) % 4)) % 4;
  if (into === undefined) return { buffer: new ArrayBuffer(pad + bytes), start: pad };
  if (into.byteLength < pad + bytes) {
    throw new RangeError(`encode output has ${into.byteLength} bytes; this message needs ${pad + bytes} (encodeBufferBytes)`);
  }
  return { buffer: into.buffer, start: base + pad };
}

/**
 * Bytes that always hold encodeTensorBytes(t, codec): every field at its largest varint, and 3
 * bytes of alignment. Depends only on the name, the shape and the codec, not on the values.
 * Throws like encodeTensor for an unknown codec or a tensor that does not fit its shape.
 */
export function encodeBufferBytes(t: FloatTensor, codec: CodecName | Codec): number {
  const plan = planEncode(t, codec);
  const field = (payload: number): number => 1 + 5 + payload; // tag, length varint (< 2^35), payload
  return field(3 * t.name.length) // name, UTF-8 (at most 3 bytes per UTF-16 unit)
    + field(5 * t.shape.length) // shape, packed uint32
    + 1 + 10 // codec (an enum, int32)
    + 1 + 10 // axis, int32 (-1 takes 10 bytes)
    + field(4 * plan.layout.scales) // scales, packed float
    + field(10 * plan.layout.zeroPoints) // zero_points, packed int32
    + field(plan.count * BYTES_PER_ELEMENT[plan.codec]) // data
    + 3; // alignment
}

function computeParams(t: FloatTensor, plan: EncodePlan): Params {
  switch (plan.codec) {
    case 'fp32':
    case 'fp16':
      return null;
    case 'uint8':
      return { uint8: uint8Params(t.data, t.name) };
    case 'int8':
    case 'int8-channel':
    case 'int8-token':
      return { scales: int8Scales(t.data, t.name, plan.layout.scales, plan.layout.blockLen) };
  }
}

/** Every field but `data` and the int8 codecs' `scales`, serialized by the generated code. */
function encodeHeader(t: FloatTensor, plan: EncodePlan, params: Params): Uint8Array {
  const quant = params !== null && 'uint8' in params
    ? { scales: [params.uint8.scale], zero_points: [params.uint8.zeroPoint] }
    : { scales: [], zero_points: [] };
  return Tensor.encode({ name: t.name, shape: t.shape, codec: ENUM_BY_NAME[plan.codec], axis: plan.layout.axis, ...quant }).finish();
}

function writeValues(t: FloatTensor, plan: EncodePlan, params: Params, buffer: ArrayBufferLike, offset: number): void {
  const n = plan.count;
  if (params === null) {
    if (plan.codec === 'fp32') new Float32Array(buffer, offset, n).set(t.data);
    else encodeFp16(t.data, new Uint16Array(buffer, offset, n));
  } else if ('uint8' in params) {
    writeUint8(t.data, params.uint8, new Uint8Array(buffer, offset, n), true);
  } else {
    writeInt8(t.data, params.scales, plan.layout.blockLen, new Int8Array(buffer, offset, n));
  }
}

function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) size++;
  return size;
}

/**
 * Writes `value` at `pos` as a base-128 varint, least significant group first (protobuf encoding
 * guide, "Base 128 Varints"); returns the position after it.
 */
function writeVarint(out: Uint8Array, pos: number, value: number): number {
  let v = value;
  while (v >= 0x80) {
    out[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[pos] = v;
  return pos + 1;
}

/**
 * Parses and validates protobuf wire bytes (see decodeTensor for the checks, for when the result
 * views `bytes`, and for `options.into`). Protobuf failures become BAD_TENSOR.
 */
export function decodeTensorBytes(bytes: Uint8Array, options: DecodeOptions = {}): FloatTensor {
  let msg: Tensor;
  try {
    msg = Tensor.decode(bytes);
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.BAD_TENSOR, `tensor message is not valid protobuf: ${(cause as Error).message}`, {
      cause,
      details: { bytes: bytes.byteLength },
    });
  }
  return decodeTensor(msg, options);
}
