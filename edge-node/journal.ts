/**
 * The edge node's write-ahead journal (`--state-dir`, docs/reliability.md): frames it acknowledged
 * to the broker, results it published, and which of those the broker acknowledged, so a restarted
 * node finishes the frames it had acknowledged and remembers what it already answered.
 *
 * Files in the state directory: `journal-NNNNNNNN.log` segments (records: ./journal-records.ts),
 * `lock` and `edge-id` (./state-dir.ts). The newest segment is appended to; `rewrite` writes the live
 * state (frames not yet answered, results remembered) to a fresh segment and deletes the older ones.
 * `compact` does the same off the node's critical path: appends move at once to a new tail segment,
 * and a snapshot of the live state is written beside it in chunks, one per event-loop turn, flushed
 * on the thread pool, and renamed into place below the tail (segment numbers order the replay:
 * snapshot, then tail) before the older segments go. A crash at any point replays a complete state:
 * the old segments and the tail until the rename, the snapshot and the tail after it.
 *
 * Disk faults (ENOSPC, EIO, ...) are errors of one write, never of the node: a failed append is cut
 * off again (ftruncate to where it began, so no torn record sits before later ones) and reported as
 * DYNASPLIT_ERR_STORAGE (retryable). When that is not possible, or a flush failed (after a failed
 * fdatasync the kernel's page cache can no longer be trusted to hold what was written), the journal
 * is `broken`: nothing is appended until `rewrite` has put the live state into a fresh segment, tried
 * at most once per `retryMs`. Every write names its offset, so a cut-off append leaves no hole.
 * All file access goes through a JournalFs handed in, so tests inject faults at any call.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { DynasplitError, ErrorCodes, type Logger } from '../common/index.ts';
import { decodeRecords, encodeRecord, recordChunks, type JournalRecord, type LiveRecord } from './journal-records.ts';
import { lockDirectory, unlockDirectory } from './state-dir.ts';

/** The file-system calls the journal makes (node:fs by default): the seam for fault injection. */
export interface JournalFs {
  openSync(path: string, flags: string): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  fdatasyncSync(fd: number): void;
  ftruncateSync(fd: number, length: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  rmSync(path: string): void;
  readdirSync(dir: string): string[];
  readFileSync(path: string): Buffer;
  /** fdatasync off the event loop (the thread pool); when absent, fdatasyncSync is used. */
  fdatasync?(fd: number): Promise<void>;
}

export const nodeFs: JournalFs = {
  openSync: (path, flags) => fs.openSync(path, flags),
  writeSync: (fd, buffer, offset, length, position) => fs.writeSync(fd, buffer, offset, length, position),
  fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
  ftruncateSync: (fd, length) => fs.ftruncateSync(fd, length),
  closeSync: (fd) => fs.closeSync(fd),
  renameSync: (from, to) => fs.renameSync(from, to),
  rmSync: (path) => fs.rmSync(path, { force: true }),
  readdirSync: (dir) => fs.readdirSync(dir),
  readFileSync: (path) => fs.readFileSync(path),
  fdatasync: (fd) => new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
};

/**
 * Bytes of a snapshot per write and per event-loop turn during `compact` (a few ms of page-cache
 * writes); `rewrite` writes in chunks of the same size.
 */
const COMPACT_CHUNK_BYTES = 1 << 20;

export interface JournalOptions {
  dir: string;
  logger: Logger;
  fs?: JournalFs;
  /** ms between attempts to repair a broken journal (rewrite into a fresh segment); default 1000 */
  retryMs?: number;
}

/** Thrown inside a compaction that a rewrite or close replaced: it cleans up and ends quietly. */
const CANCELLED = new Error('journal compaction cancelled');
const SEGMENT = /^journal-(\d{8})\.log$/;
const TEMPORARY = /^journal-\d{8}\.log\.tmp$/;

export class Journal {
  readonly dir: string;
  readonly #fs: JournalFs;
  readonly #logger: Logger;
  readonly #retryMs: number;
  #fd = -1;
  #segment = 0;
  #size = 0;
  #dirty = false;
  /** Bytes of the current segment known to be flushed. */
  #durable = 0;
  /** Grouped appends waiting for a flush: each settles once the segment is flushed past `end`. */
  #waiting: { end: number; resolve: () => void; reject: (err: DynasplitError) => void }[] = [];
  /** The grouped flush in flight, on descriptor `fd` (closed when it lands if the segment changed meanwhile). */
  #flight: { fd: number } | undefined;
  /** Bytes appended since the last rewrite or compaction began. */
  #appended = 0;
  /** Why nothing may be appended until a rewrite succeeds (no segment open yet, a failed flush). */
  #broken: string | undefined = 'no segment written yet';
  #retryAt = 0;
  /** The compaction in progress; replaced (or cleared) to cancel it. */
  #compaction: { done: Promise<void> } | undefined;

  private constructor(options: JournalOptions) {
    this.dir = options.dir;
    this.#fs = options.fs ?? nodeFs;
    this.#logger = options.logger;
    this.#retryMs = options.retryMs ?? 1000;
  }

  /** Locks the directory and reads every record in it, oldest first. Call `rewrite` next (it may fail on a full disk). */
  static open(options: JournalOptions): { journal: Journal; records: JournalRecord[] } {
    fs.mkdirSync(options.dir, { recursive: true });
    lockDirectory(options.dir, options.logger);
    const journal = new Journal(options);
    const records: JournalRecord[] = [];
    // A snapshot a crash left half-written: its segments are all still here.
    for (const name of journal.#fs.readdirSync(options.dir)) if (TEMPORARY.test(name)) journal.#quietly(() => journal.#fs.rmSync(join(options.dir, name)));
    for (const [segment, name] of journal.#segments()) {
      const bytes = journal.#fs.readFileSync(join(options.dir, name));
      const read = decodeRecords(bytes);
      if (read.validBytes < bytes.length) {
        options.logger.warn({ file: name, dropped: bytes.length - read.validBytes }, 'journal ends in a torn or corrupt record: the rest is ignored');
      }
      records.push(...read.records);
      journal.#segment = Math.max(journal.#segment, segment);
    }
    return { journal, records };
  }

  /** Bytes in the current segment. */
  get size(): number {
    return this.#size;
  }

  /** Bytes appended since the last rewrite or compaction began: what the next compaction is weighed against. */
  get appended(): number {
    return this.#appended;
  }

  /** Why the journal takes no appends until a rewrite succeeds; undefined when it does. */
  get broken(): string | undefined {
    return this.#broken;
  }

  /** Appends `record` (not yet durable); returns its bytes. Throws DYNASPLIT_ERR_STORAGE, the journal as it was before. */
  append(record: JournalRecord): Buffer {
    if (this.#broken) throw storage(`journal cannot be written: ${this.#broken}`);
    const bytes = encodeRecord(record);
    const start = this.#size;
    try {
      this.#writeAll(this.#fd, bytes, start);
    } catch (err) {
      this.#cutBack(start, err);
      throw storage(`journal append failed: ${(err as Error).message}`, err);
    }
    this.#size = start + bytes.length;
    this.#appended += bytes.length;
    this.#dirty = true;
    return bytes;
  }

  /** Appends `record` and makes everything so far durable (fdatasync); on failure `record` is cut off again and the journal broken. */
  appendDurable(record: JournalRecord): void {
    const start = this.#size;
    this.append(record);
    this.sync(start);
  }

  /**
   * Appends `record` and returns when it will be durable: a promise settled by the next group flush
   * (rejecting with DYNASPLIT_ERR_STORAGE when that flush fails), or undefined when it already is (a
   * JournalFs without an asynchronous fdatasync flushes at once, as appendDurable). Throws
   * DYNASPLIT_ERR_STORAGE when the append itself fails, the journal as it was before.
   */
  appendGrouped(record: JournalRecord): Promise<void> | undefined {
    if (!this.#fs.fdatasync) {
      this.appendDurable(record);
      return undefined;
    }
    this.append(record);
    const end = this.#size;
    const durable = new Promise<void>((resolve, reject) => this.#waiting.push({ end, resolve, reject }));
    this.#flushGroup();
    return durable;
  }

  /** Starts a flush covering every append so far, unless one is in flight (its landing starts the next). */
  #flushGroup(): void {
    if (this.#flight || this.#waiting.length === 0 || this.#broken) return;
    const flight = { fd: this.#fd };
    const target = this.#size;
    this.#flight = flight;
    this.#fs.fdatasync!(flight.fd).then(() => this.#landed(flight, target), (err: unknown) => this.#landed(flight, target, err));
  }

  #landed(flight: { fd: number }, target: number, err?: unknown): void {
    this.#flight = undefined;
    if (flight.fd !== this.#fd) {
      // The segment changed meanwhile (a rewrite, a compaction, close): they settled its appends.
      this.#quietly(() => this.#fs.closeSync(flight.fd));
    } else if (err !== undefined) {
      // What was never flushed goes, so a crash before the rewrite cannot replay a refused frame.
      this.#quietly(() => { this.#fs.ftruncateSync(this.#fd, this.#durable); this.#size = this.#durable; });
      this.#flushFailed(err, 'journal flush failed: the frames waiting for it are refused, and new ones until the journal is rewritten');
    } else {
      this.#flushed(target);
    }
    this.#flushGroup();
  }

  /** The current segment is flushed up to `end`: the appends waiting for that are durable. */
  #flushed(end: number): void {
    this.#durable = Math.max(this.#durable, end);
    if (this.#durable >= this.#size) this.#dirty = false;
    this.#settle(end);
  }

  /** Settles the waiting appends that end at or before `end`: resolved, or rejected with `err`. */
  #settle(end: number, err?: DynasplitError): void {
    const done = this.#waiting.filter((waiter) => waiter.end <= end);
    if (done.length === 0) return;
    this.#waiting = this.#waiting.filter((waiter) => waiter.end > end);
    for (const waiter of done) {
      if (err) waiter.reject(err);
      else waiter.resolve();
    }
  }

  /** Closes a segment's descriptor, or leaves that to the flush in flight on it. */
  #retire(fd: number): void {
    if (this.#flight?.fd !== fd) this.#quietly(() => this.#fs.closeSync(fd));
  }

  /** Makes everything appended so far durable (fdatasync); cheap when nothing was. `undo`: where to cut back to if it fails. */
  sync(undo?: number): void {
    if (!this.#dirty || this.#broken) return;
    try {
      this.#fs.fdatasyncSync(this.#fd);
    } catch (err) {
      if (undo !== undefined) this.#cutBack(undo, err);
      throw this.#flushFailed(err, 'journal flush failed: new frames are refused until the journal is rewritten');
    }
    this.#flushed(this.#size);
  }

  /** A flush failed: the journal is broken until rewritten, and every append waiting for a flush is refused with the error returned. */
  #flushFailed(err: unknown, message: string): DynasplitError {
    this.#broken = `flush failed: ${(err as Error).message}`;
    this.#retryAt = Date.now() + this.#retryMs;
    this.#logger.error({ err: (err as Error).message, waiting: this.#waiting.length }, message);
    const failed = storage(`journal flush failed: ${(err as Error).message}`, err);
    this.#settle(Number.POSITIVE_INFINITY, failed);
    return failed;
  }

  /** Whether a rewrite may be tried now: at most one per retryMs after a failed one. */
  mayRewrite(nowMs = Date.now()): boolean {
    return nowMs >= this.#retryAt;
  }

  /** Starts a new segment holding `live`, made durable, then deletes the older segments. Throws DYNASPLIT_ERR_STORAGE (nothing changed but the retry time). */
  rewrite(live: Iterable<LiveRecord>): void {
    this.#compaction = undefined;
    const next = this.#segment + 1;
    const name = segmentName(next);
    const temporary = join(this.dir, `${name}.tmp`);
    let fd = -1;
    let size = 0;
    try {
      fd = this.#fs.openSync(temporary, 'w');
      for (const chunk of recordChunks(live, COMPACT_CHUNK_BYTES)) size += this.#writeAll(fd, chunk, size);
      this.#fs.fdatasyncSync(fd);
      this.#fs.renameSync(temporary, join(this.dir, name));
    } catch (err) {
      // What was written of the new segment goes: on a full disk it is the space a retry needs.
      if (fd >= 0) this.#quietly(() => this.#fs.closeSync(fd));
      this.#quietly(() => this.#fs.rmSync(temporary));
      this.#retryAt = Date.now() + this.#retryMs;
      throw storage(`journal rewrite failed: ${(err as Error).message}`, err);
    }
    if (this.#fd >= 0) this.#retire(this.#fd);
    for (const [segment, old] of this.#segments()) if (segment < next) this.#quietly(() => this.#fs.rmSync(join(this.dir, old)));
    if (this.#broken) this.#logger.info({ segment: name, bytes: size }, 'journal writable again');
    this.#fd = fd;
    this.#segment = next;
    this.#size = size;
    this.#durable = size;
    this.#appended = 0;
    this.#dirty = false;
    this.#broken = undefined;
    // The live state, now flushed, holds every frame still waiting for a flush.
    this.#settle(Number.POSITIVE_INFINITY);
    this.#logger.debug({ segment: name, bytes: size }, 'journal rewritten');
  }

  /** The compaction in progress (settles when it is done, failed or cancelled); undefined when none. */
  get compacting(): Promise<void> | undefined {
    return this.#compaction?.done;
  }

  /**
   * Starts compacting into the live state `live` (a snapshot: taken now, written over the next turns).
   * Appends go to a new tail segment from here on. Throws DYNASPLIT_ERR_STORAGE when the tail cannot
   * be opened (nothing changed); a later failure is logged, leaves the old segments and the tail (a
   * complete state) and allows the next try after retryMs.
   */
  compact(live: LiveRecord[]): void {
    if (this.#broken || this.#compaction) return;
    // Frames waiting for a group flush are made durable where they are: the snapshot is not, yet.
    if (this.#waiting.length > 0) this.sync();
    const snapshot = this.#segment + 1;
    const tail = this.#segment + 2;
    let fd: number;
    try {
      fd = this.#fs.openSync(join(this.dir, segmentName(tail)), 'w');
    } catch (err) {
      this.#retryAt = Date.now() + this.#retryMs;
      throw storage(`journal compaction failed: ${(err as Error).message}`, err);
    }
    // Records appended to the old segment without a flush (results, sent marks) are allowed to be lost.
    this.#retire(this.#fd);
    this.#fd = fd;
    this.#segment = tail;
    this.#size = 0;
    this.#durable = 0;
    this.#appended = 0;
    this.#dirty = false;
    const compaction = { done: Promise.resolve() };
    compaction.done = this.#writeSnapshot(snapshot, live, () => this.#compaction === compaction)
      .catch((err: unknown) => {
        this.#retryAt = Date.now() + this.#retryMs;
        this.#logger.warn({ err: (err as Error).message }, 'journal compaction failed: the older segments stay until the next one');
      })
      .finally(() => { if (this.#compaction === compaction) this.#compaction = undefined; });
    this.#compaction = compaction;
  }

  /** Writes `live` to segment `number` in chunks, flushes it off the event loop, renames it into place, deletes the segments before it. */
  async #writeSnapshot(number: number, live: LiveRecord[], current: () => boolean): Promise<void> {
    const name = segmentName(number);
    const temporary = join(this.dir, `${name}.tmp`);
    let fd = -1;
    try {
      fd = this.#fs.openSync(temporary, 'w');
      let size = 0;
      for (const chunk of recordChunks(live, COMPACT_CHUNK_BYTES)) {
        if (size > 0) {
          // A turn of the event loop between chunks (the chunk's buffer waits: the generator is paused).
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (!current()) throw CANCELLED;
        }
        size += this.#writeAll(fd, chunk, size);
      }
      await (this.#fs.fdatasync ? this.#fs.fdatasync(fd) : this.#fs.fdatasyncSync(fd));
      if (!current()) throw CANCELLED;
      this.#fs.closeSync(fd);
      fd = -1;
      this.#fs.renameSync(temporary, join(this.dir, name));
      for (const [segment, old] of this.#segments()) if (segment < number) this.#quietly(() => this.#fs.rmSync(join(this.dir, old)));
      this.#logger.debug({ segment: name, bytes: size }, 'journal compacted');
    } catch (err) {
      // What was written of the snapshot goes: on a full disk it is the space a retry needs.
      if (fd >= 0) this.#quietly(() => this.#fs.closeSync(fd));
      this.#quietly(() => this.#fs.rmSync(temporary));
      if (err !== CANCELLED) throw err;
    }
  }

  close(): void {
    this.#compaction = undefined;
    if (this.#fd >= 0) {
      this.#quietly(() => this.sync());
      this.#retire(this.#fd);
      this.#fd = -1;
    }
    this.#settle(Number.POSITIVE_INFINITY, storage('journal closed before the flush'));
    unlockDirectory(this.dir);
  }

  /** Cuts the segment back to `length` after a failed write; if even that fails, the journal is broken. */
  #cutBack(length: number, cause: unknown): void {
    try {
      this.#fs.ftruncateSync(this.#fd, length);
    } catch (err) {
      this.#broken = `a failed append (${(cause as Error).message}) could not be cut off: ${(err as Error).message}`;
      this.#retryAt = Date.now() + this.#retryMs;
      this.#logger.error({ err: (err as Error).message }, 'journal cannot be cut back after a failed append: new frames are refused until it is rewritten');
    }
  }

  /** Writes all of `bytes` at `position` of `fd`; returns how many. */
  #writeAll(fd: number, bytes: Uint8Array, position: number): number {
    for (let done = 0; done < bytes.length;) done += this.#fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
    return bytes.length;
  }

  #quietly(action: () => void): void {
    try {
      action();
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message }, 'journal housekeeping failed');
    }
  }

  #segments(): [number, string][] {
    return this.#fs.readdirSync(this.dir)
      .map((name) => [Number(SEGMENT.exec(name)?.[1] ?? NaN), name] as [number, string])
      .filter(([segment]) => Number.isInteger(segment))
      .sort((a, b) => a[0] - b[0]);
  }
}

function segmentName(segment: number): string {
  return `journal-${String(segment).padStart(8, '0')}.log`;
}

function storage(message: string, cause?: unknown): DynasplitError {
  return new DynasplitError(ErrorCodes.STORAGE, message, { retryable: true, cause, details: { errno: (cause as NodeJS.ErrnoException)?.code } });
}
