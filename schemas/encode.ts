/**
 * Serializing messages that carry tensors in one allocation and one copy of the payload, with each
 * tensor's data on a 4-byte boundary of the message.
 *
 * protobufjs's writer starts from 128 bytes and doubles its buffer as fields arrive, shifts a
 * nested message's bytes forward once its length prefix needs more than one byte, and `finish()`
 * copies the whole message into a buffer of the exact size. For an 800 KB tensor inside a
 * TailRequest that is three fresh buffers (0.8, 1.6 and 0.8 MB) and four passes over the payload:
 * ~470 µs of CPU per message on the development machine, against ~60 µs for one copy into a buffer
 * that already exists (docs/performance.md). Here the writer gets, up front, a buffer large enough
 * for every byte field in the message plus room for the small fields, and the message is returned
 * as a view of it: one allocation and the copy of each payload.
 *
 * The Tensor fields of the messages that carry them (TENSOR_FIELDS) are written last, each with its
 * length known before it is written, so no bytes move afterwards, and each with `Tensor.padding`
 * sized so that `data` starts at a multiple of 4 bytes from the message's start. NATS and MQTT
 * deliver a message that spans socket reads at the start of a buffer of its own, so a receiver
 * views float32 data where it lies instead of copying it (docs/architecture.md, "Copies of a
 * tensor"). Protobuf parsers accept fields in any order (protobuf.dev/programming-guides/encoding,
 * "Field Order"): the result decodes, with any protobuf library, to the message given.
 */
import protobuf from 'protobufjs/minimal.js';
import { dynasplit } from './gen/messages.js';

/** Below this many payload bytes the generated code's own writer is as good. */
const SIZED_FROM_BYTES = 4096;
/** Room for everything besides the byte fields: ids, names, shapes, numbers, length prefixes. */
const ROOM_BYTES = 4096;
/** How deep to look for byte fields: Result.outputs[i].data is three levels down. */
const MAX_DEPTH = 4;
/** Tensor's `bytes data = 4` and `bytes padding = 15` (tensor.proto): field << 3 | wire type 2. */
const DATA_TAG = (4 << 3) | 2;
const PADDING_TAG = (15 << 3) | 2;

const { Frame, TailRequest, TailReply, Result, Tensor } = dynasplit.v1;
type TensorFields = Record<string, number>;

/**
 * The fields of type Tensor (pipeline.proto), by name and number, of each message that carries
 * tensors; test/unit/schemas/encode.test.ts checks this table against the .proto files.
 */
export const TENSOR_FIELDS: ReadonlyMap<unknown, TensorFields> = new Map<unknown, TensorFields>([
  [Frame, { tensor: 6, inputs: 10 }],
  [TailRequest, { tensor: 4, more_tensors: 9 }],
  [TailReply, { output: 2, more_outputs: 14 }],
  [Result, { outputs: 17 }],
]);

interface Encodable<T> { encode(message: T, writer?: protobuf.Writer): protobuf.Writer }
type TensorLike = dynasplit.v1.Tensor.$Properties;

/**
 * `type.encode(message).finish()` decoded back, sized for the message's byte fields first, with the
 * data of its Tensor fields 4-byte aligned in the result. Small messages are the generated code's
 * bytes. The result may view a larger buffer; it is the caller's alone.
 */
export function encodeMessage<T extends object>(type: Encodable<T>, message: T): Uint8Array {
  const payload = payloadBytes(message, MAX_DEPTH);
  if (payload < SIZED_FROM_BYTES) return type.encode(message).finish();
  const writer = protobuf.Writer.create();
  writer.buf = Buffer.allocUnsafe(payload + ROOM_BYTES);
  const fields = TENSOR_FIELDS.get(type);
  if (fields === undefined) return type.encode(message, writer).finish(true);
  const rest = { ...message } as Record<string, unknown>;
  const tensors: Array<[number, TensorLike]> = [];
  for (const [name, field] of Object.entries(fields)) {
    const value = rest[name] as TensorLike | TensorLike[] | null | undefined;
    if (value === null || value === undefined) continue;
    for (const t of Array.isArray(value) ? value : [value]) tensors.push([field, t]);
    rest[name] = undefined;
  }
  // If the small fields outgrow the room, the writer grows its buffer itself: still correct.
  type.encode(rest as T, writer);
  for (const [field, t] of tensors) writeTensorField(writer, field, t);
  return writer.finish(true);
}

/** One Tensor field: tag, length, every field but data, the padding, then data on a 4-byte boundary. */
function writeTensorField(writer: protobuf.Writer, field: number, t: TensorLike): void {
  const tag = (field << 3) | 2;
  const data = t.data;
  if (!(data instanceof Uint8Array) || data.length === 0) {
    Tensor.encode(t, writer.uint32(tag).fork()).ldelim();
    return;
  }
  const head = Tensor.encode({ ...t, data: undefined, padding: undefined }).finish();
  const dataField = 1 + varintBytes(data.length) + data.length;
  const at = writer.pos + varintBytes(tag);
  // Padding is 0 bytes or 2-9 (tag, length, zeros); one of 0, 2, 3, 4, 5 aligns unless the
  // message's length prefix grows a byte with it, which the next sizes cover.
  let pad = 0;
  for (; pad < 10; pad += pad === 0 ? 2 : 1) {
    const length = head.length + pad + dataField;
    if ((at + varintBytes(length) + length - data.length) % 4 === 0) break;
  }
  writer.uint32(tag).uint32(head.length + pad + dataField).raw(head);
  if (pad > 0) {
    writer.uint32(PADDING_TAG).uint32(pad - 2);
    for (let i = 2; i < pad; i++) writer.uint32(0);
  }
  writer.uint32(DATA_TAG).uint32(data.length).raw(data);
}

function varintBytes(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/** Bytes in the Uint8Array fields of a plain message object, down to `depth` levels. */
function payloadBytes(value: unknown, depth: number): number {
  if (value instanceof Uint8Array) return value.byteLength;
  if (depth === 0 || value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return 0;
  let sum = 0;
  if (Array.isArray(value)) {
    for (const item of value) if (typeof item === 'object') sum += payloadBytes(item, depth - 1);
    return sum;
  }
  for (const key in value) {
    const field = (value as Record<string, unknown>)[key];
    if (typeof field === 'object') sum += payloadBytes(field, depth - 1);
  }
  return sum;
}
