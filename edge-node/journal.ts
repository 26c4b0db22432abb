/**
 * The edge node's write-ahead journal: what it took from the broker and what it answered, on disk,
 * so a restarted node finishes the frames it had acknowledged and remembers what it already answered.
 *
 * Files in the state directory:
 *   journal-NNNNNNNN.log   segments, appended to; a record is
 *                          u32 LE body length | u32 LE crc32(body) | body
 *                          body = u8 kind | u16 LE key length | key | u16 LE sensor length | sensor | payload
 *   lock                   the pid of the node using the directory (a second node is refused)
 *   edge-id                the node's id, kept when none is given, so its broker session is found again
 *
 * Kinds: a frame (payload: the frame as received), a result (payload: the encoded Result) and sent
 * (no payload: the broker acknowledged the result). A torn or corrupt tail (a crash mid-append) ends
 * the replay there. The newest segment grows to `segmentBytes`; then the live state (frames not yet
 * answered, results remembered) is written to a fresh segment and the older ones are deleted.
 * Durability: `sync()` (fdatasync) is called before the broker is acknowledged; results and sent
 * marks are written without it (a crash may then re-run a frame or re-send a result: the receiver sees
 * a duplicate request id, never a missing one).
 */
import { closeSync, fdatasyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { DynasplitError, ErrorCodes, type Logger } from '../common/index.ts';

export const RecordKind = { frame: 1, result: 2, sent: 3 } as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

export interface JournalRecord {
  kind: RecordKind;
  key: string;
  sensorId: string;
  payload: Uint8Array;
}

const HEADER = 8;
const SEGMENT = /^journal-(\d{8})\.log$/;
/** A record body can be no larger than a frame the node accepts plus its names; this bounds a corrupt length. */
const MAX_BODY = 1 << 30;

export function encodeRecord(record: JournalRecord): Buffer {
  const key = Buffer.from(record.key);
  const sensor = Buffer.from(record.sensorId);
  const bodyLength = 1 + 2 + key.length + 2 + sensor.length + record.payload.length;
  const out = Buffer.allocUnsafe(HEADER + bodyLength);
  let at = HEADER;
  at = out.writeUInt8(record.kind, at);
  at = out.writeUInt16LE(key.length, at);
  at += key.copy(out, at);
  at = out.writeUInt16LE(sensor.length, at);
  at += sensor.copy(out, at);
  out.set(record.payload, at);
  out.writeUInt32LE(bodyLength, 0);
  out.writeUInt32LE(crc32(out.subarray(HEADER)), 4);
  return out;
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
  if (kind !== RecordKind.frame && kind !== RecordKind.result && kind !== RecordKind.sent) return undefined;
  const keyLength = body.readUInt16LE(1);
  if (3 + keyLength + 2 > body.length) return undefined;
  const key = body.toString('utf8', 3, 3 + keyLength);
  const sensorLength = body.readUInt16LE(3 + keyLength);
  const sensorAt = 5 + keyLength;
  if (sensorAt + sensorLength > body.length) return undefined;
  // The payload is a copy: records remembered after a replay must not keep the whole segment alive.
  return { kind, key, sensorId: body.toString('utf8', sensorAt, sensorAt + sensorLength), payload: Buffer.from(body.subarray(sensorAt + sensorLength)) };
}

export interface JournalOptions {
  dir: string;
  /** Bytes a segment grows to before the live state is rewritten to a new one; default 64 MiB */
  segmentBytes?: number;
  logger: Logger;
}

export class Journal {
  readonly dir: string;
  readonly #segmentBytes: number;
  readonly #logger: Logger;
  #fd = -1;
  #segment = 0;
  #size = 0;
  #dirty = false;

  private constructor(options: JournalOptions) {
    this.dir = options.dir;
    this.#segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    this.#logger = options.logger;
  }

  /** Locks the directory and reads every record in it, oldest first. Call `rewrite` next. */
  static open(options: JournalOptions): { journal: Journal; records: JournalRecord[] } {
    mkdirSync(options.dir, { recursive: true });
    lockDirectory(options.dir);
    const journal = new Journal(options);
    const records: JournalRecord[] = [];
    for (const [segment, name] of segments(options.dir)) {
      const bytes = readFileSync(join(options.dir, name));
      const read = decodeRecords(bytes);
      if (read.validBytes < bytes.length) {
        options.logger.warn({ file: name, dropped: bytes.length - read.validBytes }, 'journal ends in a torn or corrupt record: the rest is ignored');
      }
      records.push(...read.records);
      journal.#segment = Math.max(journal.#segment, segment);
    }
    return { journal, records };
  }

  /** Bytes in the current segment; past `segmentBytes`, the owner should `rewrite` its live state. */
  get full(): boolean {
    return this.#size >= this.#segmentBytes;
  }

  append(record: JournalRecord): void {
    const bytes = encodeRecord(record);
    writeSync(this.#fd, bytes);
    this.#size += bytes.length;
    this.#dirty = true;
  }

  /** Makes everything appended so far durable (fdatasync); cheap when nothing was. */
  sync(): void {
    if (!this.#dirty) return;
    fdatasyncSync(this.#fd);
    this.#dirty = false;
  }

  /** Starts a new segment holding `live`, made durable, then deletes the older segments. */
  rewrite(live: Iterable<JournalRecord>): void {
    const next = this.#segment + 1;
    const name = segmentName(next);
    const temporary = join(this.dir, `${name}.tmp`);
    const fd = openSync(temporary, 'w');
    let size = 0;
    for (const record of live) {
      const bytes = encodeRecord(record);
      writeSync(fd, bytes);
      size += bytes.length;
    }
    fdatasyncSync(fd);
    renameSync(temporary, join(this.dir, name));
    if (this.#fd >= 0) closeSync(this.#fd);
    for (const [segment, old] of segments(this.dir)) if (segment < next) rmSync(join(this.dir, old), { force: true });
    this.#fd = fd;
    this.#segment = next;
    this.#size = size;
    this.#dirty = false;
    this.#logger.debug({ segment: name, bytes: size }, 'journal rewritten');
  }

  close(): void {
    if (this.#fd < 0) return;
    this.sync();
    closeSync(this.#fd);
    this.#fd = -1;
    rmSync(join(this.dir, 'lock'), { force: true });
  }
}

function segmentName(segment: number): string {
  return `journal-${String(segment).padStart(8, '0')}.log`;
}

function segments(dir: string): [number, string][] {
  return readdirSync(dir)
    .map((name) => [Number(SEGMENT.exec(name)?.[1] ?? NaN), name] as [number, string])
    .filter(([segment]) => Number.isInteger(segment))
    .sort((a, b) => a[0] - b[0]);
}

/** One node per state directory: a lock file with the owner's pid; a dead owner's lock is taken over. */
function lockDirectory(dir: string): void {
  const file = join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
        throw new DynasplitError(ErrorCodes.BAD_ARGS, `state directory ${dir} is in use by process ${owner}`, { details: { dir, owner } });
      }
      rmSync(file, { force: true });
    }
  }
  throw new DynasplitError(ErrorCodes.BAD_ARGS, `cannot lock state directory ${dir}`, { details: { dir } });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The node id kept in the state directory: `given` when set (and then kept), else the stored one, else `fallback`. */
export function stateIdentity(dir: string, given: string | undefined, fallback: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'edge-id');
  let stored: string | undefined;
  try {
    stored = readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    stored = undefined;
  }
  const id = given ?? stored ?? fallback;
  if (id !== stored) writeFileSync(file, `${id}\n`);
  return id;
}
