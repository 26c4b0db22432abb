/**
 * The journal's record format (edge-node/journal.ts):
 *
 *   u32 LE body length | u32 LE crc32(body) | body
 *   body = u8 kind | u16 LE key length | key | u16 LE sensor length | sensor | payload
 *
 * Kinds: a frame (payload: the frame as received), a result (payload: the encoded Result), sent
 * (no payload: the broker acknowledged the result), and a replay (no payload: a restarted node is
 * about to run the frame again; counted, so a frame that kills the node is not replayed for ever).
 * A torn or corrupt record (a crash mid-append) ends a segment's replay there.
 */
import { crc32 } from 'node:zlib';
import { DynasplitError, ErrorCodes } from '../common/index.ts';

export const RecordKind = { frame: 1, result: 2, sent: 3, replay: 4 } as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

export interface JournalRecord {
  kind: RecordKind;
  key: string;
  sensorId: string;
  payload: Uint8Array;
}

export const HEADER = 8;
/** A record body can be no larger than a frame the node accepts plus its names; this bounds a corrupt length. */
const MAX_BODY = 1 << 30;
/** The key and the sensor id have 16-bit lengths. */
const MAX_NAME = 0xffff;

/** Bytes `record` takes in a segment (what the journal's byte bound counts). */
export function recordBytes(record: JournalRecord): number {
  return HEADER + 5 + Buffer.byteLength(record.key) + Buffer.byteLength(record.sensorId) + record.payload.length;
}

/**
 * A record, or the bytes it was encoded to once (`encodeRecord`): what a snapshot copies as it is. The
 * live state keeps its results and sent marks encoded, so a compaction rewrites them without
 * encoding (or checksumming) each again.
 */
export type LiveRecord = JournalRecord | Uint8Array;

/** The record's bytes, in memory of their own (never a slice of Node's shared pool: the live state may keep them). */
export function encodeRecord(record: JournalRecord): Buffer {
  const out = Buffer.allocUnsafeSlow(recordBytes(record));
  writeRecord(record, out, 0);
  return out;
}

/**
 * The records encoded back to back (those already encoded copied as they are), in chunks of up to
 * `chunkBytes` (a record larger than that is a chunk of its own), so that a snapshot of many small
 * records takes a write per chunk, not one per record. Each chunk is a view of one reused buffer:
 * valid until the next one is asked for.
 */
export function* recordChunks(records: Iterable<LiveRecord>, chunkBytes: number): Generator<Buffer> {
  const buffer = Buffer.allocUnsafe(chunkBytes);
  let used = 0;
  for (const record of records) {
    const encoded = record instanceof Uint8Array ? record : undefined;
    const bytes = encoded ? encoded.length : recordBytes(record as JournalRecord);
    if (used + bytes > chunkBytes && used > 0) {
      yield buffer.subarray(0, used);
      used = 0;
    }
    if (bytes > chunkBytes) {
      yield encoded ? Buffer.from(encoded.buffer, encoded.byteOffset, encoded.length) : encodeRecord(record as JournalRecord);
      continue;
    }
    if (encoded) {
      buffer.set(encoded, used);
      used += bytes;
    } else {
      used = writeRecord(record as JournalRecord, buffer, used);
    }
  }
  if (used > 0) yield buffer.subarray(0, used);
}

/** Encodes `record` into `out` at `at` (recordBytes(record) bytes); returns where it ends. */
function writeRecord(record: JournalRecord, out: Buffer, at: number): number {
  const keyLength = Buffer.byteLength(record.key);
  const sensorLength = Buffer.byteLength(record.sensorId);
  if (keyLength > MAX_NAME || sensorLength > MAX_NAME) {
    // Frame limits keep ids far below this; a record that cannot be written is refused, never truncated.
    throw new DynasplitError(ErrorCodes.FIELD_LIMIT, `journal record key of ${keyLength} bytes or sensor id of ${sensorLength} bytes exceeds ${MAX_NAME}`, {
      details: { field: keyLength > MAX_NAME ? 'request_id' : 'sensor_id', bytes: Math.max(keyLength, sensorLength), limit: MAX_NAME },
    });
  }
  const bodyLength = 1 + 2 + keyLength + 2 + sensorLength + record.payload.length;
  const body = at + HEADER;
  let p = out.writeUInt8(record.kind, body);
  p = out.writeUInt16LE(keyLength, p);
  p += out.write(record.key, p, keyLength, 'utf8');
  p = out.writeUInt16LE(sensorLength, p);
  p += out.write(record.sensorId, p, sensorLength, 'utf8');
  out.set(record.payload, p);
  out.writeUInt32LE(bodyLength, at);
  out.writeUInt32LE(crc32(out.subarray(body, body + bodyLength)), at + 4);
  return body + bodyLength;
}

/** The records of one segment, up to the first torn or corrupt one; `validBytes` is where that is. */
export function decodeRecords(bytes: Buffer): { records: JournalRecord[]; validBytes: number } {
  const records: JournalRecord[] = [];
  let at = 0;
  while (at + HEADER <= bytes.length) {
    const length = bytes.readUInt32LE(at);
    if (length < 5 || length > MAX_BODY || at + HEADER + length > bytes.length) break;
    const body = bytes.subarray(at + HEADER, at + HEADER + length);
    if (crc32(body) !== bytes.readUInt32LE(at + 4)) break;
    const record = decodeBody(body);
    if (!record) break;
    records.push(record);
    at += HEADER + length;
  }
  return { records, validBytes: at };
}

function decodeBody(body: Buffer): JournalRecord | undefined {
  const kind = body.readUInt8(0);
  if (kind < RecordKind.frame || kind > RecordKind.replay) return undefined;
  const keyLength = body.readUInt16LE(1);
  if (3 + keyLength + 2 > body.length) return undefined;
  const key = body.toString('utf8', 3, 3 + keyLength);
  const sensorLength = body.readUInt16LE(3 + keyLength);
  const sensorAt = 5 + keyLength;
  if (sensorAt + sensorLength > body.length) return undefined;
  // The payload is a copy: records remembered after a replay must not keep the whole segment alive.
  return { kind: kind as RecordKind, key, sensorId: body.toString('utf8', sensorAt, sensorAt + sensorLength), payload: Buffer.from(body.subarray(sensorAt + sensorLength)) };
}
