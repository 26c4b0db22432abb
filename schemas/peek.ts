/**
 * Reading one string field out of a message that may not decode as a whole: a worker names a tail
 * request it cannot decode by its `request_id` (field 1), read from the bytes before the damage.
 */
import protobuf from 'protobufjs/minimal.js';
import { DEFAULT_FRAME_LIMITS } from './limits.ts';

/**
 * The first top-level string field `field` of protobuf `bytes`, as far as the fields before it parse;
 * '' when it is absent, unreadable, longer than a request id may be (DEFAULT_FRAME_LIMITS), or not UTF-8.
 * `maxFields` bounds how many fields are read to find it (a message too large to look through).
 */
export function peekStringField(bytes: Uint8Array, field: number, maxFields = Infinity): string {
  const reader = protobuf.Reader.create(bytes);
  try {
    for (let read = 0; reader.pos < reader.len && read < maxFields; read++) {
      const tag = reader.uint32();
      if (tag >>> 3 !== field) {
        reader.skipType(tag & 7);
        continue;
      }
      if ((tag & 7) !== 2) return '';
      const length = reader.uint32();
      const end = reader.pos + length;
      if (length > DEFAULT_FRAME_LIMITS.requestIdBytes || end > reader.len) return '';
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(reader.pos, end));
    }
  } catch {
    // A varint or a skipped field ran past the end, or the bytes are not UTF-8: nothing to name.
  }
  return '';
}
