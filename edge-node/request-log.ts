/**
 * What the edge node knows of each request id: running, answered (with the encoded result), or
 * answered and acknowledged by the broker. QoS 1 delivers at least once, so a frame can arrive twice
 * (a broker redelivery, a sensor retry): a request id seen before is not run again, and its result,
 * once known, is sent again, so the sensor gets one answer per request id it sent.
 *
 * What is remembered is bounded by count (`capacity` request ids) and by bytes (`maxBytes` of frames
 * and results): beyond either, the oldest answered ids are forgotten; frames still running are never
 * forgotten, and a new frame that would take their bytes past `maxBytes` is refused
 * (DYNASPLIT_ERR_OVERLOADED, retryable).
 *
 * With a journal (`--state-dir`) this outlives the process: a frame is written in `check` and
 * flushed with the frames around it (group commit, ./journal.ts); `check` says when it is durable,
 * and the node runs it and acknowledges it to the broker only then. A frame the journal cannot write
 * or flush is refused (DYNASPLIT_ERR_STORAGE) and forgotten, so the sensor may send it again; a
 * restarted node gets back the frames it took but never answered (with how often they were replayed
 * already), the results the broker never acknowledged, and the request ids it remembers
 * (./journal.ts). Results and sent marks are written without a flush and a failure to write them is
 * logged, never thrown: a crash may then re-run a frame or re-send a result (a duplicate request id,
 * never a missing one). Compaction is amortised and off the critical path: once as many bytes as the
 * live state holds (and at least `segmentBytes`) have been appended since the last one, appends move
 * to a new tail segment and a snapshot of the live state is written beside it over the next event-loop
 * turns (Journal.compact), so each byte appended pays for at most one byte rewritten and no frame
 * waits for a rewrite.
 */
import { DynasplitError, ErrorCodes, silentLogger, type Logger } from '../common/index.ts';
import { Journal, type JournalFs } from './journal.ts';
import { RecordKind, recordBytes, type JournalRecord, type LiveRecord } from './journal-records.ts';

/**
 * What `check` and `peek` know of a request id. `durable`: settles once the frame is journaled and
 * flushed (absent when it already is, or without a journal). For a frame `check` has just taken it
 * rejects with DYNASPLIT_ERR_STORAGE when the flush fails; for one seen before it only settles.
 */
export type Seen = { duplicate: false; durable?: Promise<void> } | { duplicate: true; result?: Uint8Array; durable?: Promise<void> };

type State = 'running' | 'answered' | 'sent';

interface Entry {
  sensorId: string;
  state: State;
  /** The frame as received, while it runs (kept only with a journal, to rewrite it). */
  frame?: Uint8Array;
  result?: Uint8Array;
  /** Times a restarted node ran this frame again. */
  replays: number;
  /** What the entry counts against maxBytes. */
  bytes: number;
  /** Settles once the frame is flushed (it never rejects); absent once it is. */
  durable?: Promise<void>;
  /** The result record and the sent mark as appended to the journal: a compaction copies them as they are. */
  resultRecord?: Uint8Array;
  sentRecord?: Uint8Array;
}

export interface RequestLogOptions {
  /** Request ids remembered; the edge's dedupeWindow */
  capacity: number;
  /** Bytes of frames and results remembered (journal: the live state); the edge's journalMaxBytes */
  maxBytes: number;
}

export interface DurableLogOptions extends RequestLogOptions {
  dir: string;
  logger: Logger;
  /**
   * Bytes a segment grows to at least before compaction; default 16 MiB, never above maxBytes. A
   * compaction's cost is mostly per record of the live state (10,000 request ids: ~20,000 small
   * records), whatever its bytes, so larger segments compact less often: less CPU, and fewer bytes
   * written to the disk.
   */
  segmentBytes?: number;
  fs?: JournalFs;
  /** ms between attempts to make a broken journal writable again; default 1000 */
  retryMs?: number;
}

export interface Recovered {
  /** Frames acknowledged to the broker but never answered: to run again (`replays`: how often that was tried before). */
  frames: { key: string; sensorId: string; payload: Uint8Array; replays: number }[];
  /** Results published but not acknowledged by the broker: to send again. */
  unsent: { key: string; sensorId: string; result: Uint8Array }[];
  /** Why the journal cannot be written, when it cannot (a full disk at start). */
  unwritable?: string;
}

const EMPTY = new Uint8Array(0);

export class RequestLog {
  /** key -> entry; insertion order is age. */
  readonly #entries = new Map<string, Entry>();
  readonly #options: RequestLogOptions;
  readonly #journal?: Journal;
  readonly #segmentBytes: number;
  readonly #logger: Logger;
  #bytes = 0;
  #runningBytes = 0;

  constructor(options: RequestLogOptions, journal?: Journal, extra: { segmentBytes?: number; logger?: Logger } = {}) {
    this.#options = options;
    this.#journal = journal;
    // Never above maxBytes: the directory then holds at most about three times maxBytes, however small.
    this.#segmentBytes = Math.min(extra.segmentBytes ?? 16 * 1024 * 1024, options.maxBytes);
    this.#logger = extra.logger ?? silentLogger();
  }

  /** The log kept in `options.dir`, and what the node must finish from before its restart. */
  static open(options: DurableLogOptions): { log: RequestLog; recovered: Recovered } {
    const { journal, records } = Journal.open({ dir: options.dir, logger: options.logger, fs: options.fs, retryMs: options.retryMs });
    const log = new RequestLog(options, journal, options);
    for (const record of records) log.#apply(record);
    const recovered: Recovered = { frames: [], unsent: [] };
    try {
      journal.rewrite(log.#live());
    } catch (err) {
      // A full disk at start: serve what is known, refuse new frames until the journal can be written.
      recovered.unwritable = (err as Error).message;
      options.logger.error({ dir: options.dir, err: (err as Error).message }, 'journal cannot be written: recovered frames are answered, new frames refused (DYNASPLIT_ERR_STORAGE) until it can');
    }
    for (const [key, entry] of log.#entries) {
      if (entry.state === 'running' && entry.frame) recovered.frames.push({ key, sensorId: entry.sensorId, payload: entry.frame, replays: entry.replays });
      if (entry.state === 'answered' && entry.result) recovered.unsent.push({ key, sensorId: entry.sensorId, result: entry.result });
    }
    if (records.length > 0) {
      options.logger.info({ dir: options.dir, remembered: log.#entries.size, frames: recovered.frames.length, unsent: recovered.unsent.length }, 'state recovered');
    }
    return { log, recovered };
  }

  get durable(): boolean {
    return this.#journal !== undefined;
  }

  /** Bytes of frames and results remembered. */
  get bytes(): number {
    return this.#bytes;
  }

  /** What is known of `key`, when it was seen (running: no result yet; durable: still waiting for its flush). */
  peek(key: string): { result?: Uint8Array; durable?: Promise<void> } | undefined {
    const entry = this.#entries.get(key);
    return entry ? { result: entry.result, durable: entry.durable } : undefined;
  }

  /**
   * Records `key` as running unless it was seen; says what is known when it was. With a journal the
   * frame is durable when `durable` resolves (at once when that is absent); throws
   * DYNASPLIT_ERR_STORAGE when it cannot be written, and DYNASPLIT_ERR_OVERLOADED when the frames
   * running already hold `maxBytes`.
   */
  check(key: string, sensorId: string, frame: Uint8Array): Seen {
    const entry = this.#entries.get(key);
    if (entry) return { duplicate: true, result: entry.result, durable: entry.durable };
    const record = { kind: RecordKind.frame, key, sensorId, payload: frame };
    const bytes = recordBytes(record);
    if (this.#runningBytes + bytes > this.#options.maxBytes) {
      throw new DynasplitError(ErrorCodes.OVERLOADED, `frames in progress hold ${this.#runningBytes} of ${this.#options.maxBytes} bytes`, {
        retryable: true, details: { bytes, limit: this.#options.maxBytes },
      });
    }
    let durable: Promise<void> | undefined;
    if (this.#journal) {
      this.#repair();
      durable = this.#journal.appendGrouped(record);
    }
    this.#apply(record);
    if (durable) this.#awaitFlush(key, durable);
    this.#compact();
    return { duplicate: false, durable };
  }

  /** Marks `key`'s entry as waiting for `durable`; a failed flush forgets it again, unless it was answered meanwhile. */
  #awaitFlush(key: string, durable: Promise<void>): void {
    const entry = this.#entries.get(key)!;
    entry.durable = durable.then(() => { entry.durable = undefined; }, () => {
      entry.durable = undefined;
      if (this.#entries.get(key) !== entry || entry.state !== 'running') return;
      this.#entries.delete(key);
      this.#bytes -= entry.bytes;
      this.#runningBytes -= entry.bytes;
    });
  }

  answered(key: string, sensorId: string, result: Uint8Array): void {
    this.#record({ kind: RecordKind.result, key, sensorId, payload: result });
  }

  /** The broker acknowledged the result of `key`. */
  sent(key: string): void {
    const entry = this.#entries.get(key);
    if (entry && entry.state === 'answered') this.#record({ kind: RecordKind.sent, key, sensorId: entry.sensorId, payload: EMPTY });
  }

  /** A restarted node is about to run `key` again: counted durably, so a frame that kills the node runs a bounded number of times. */
  replaying(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry || entry.state !== 'running') return;
    const record = { kind: RecordKind.replay, key, sensorId: entry.sensorId, payload: EMPTY };
    try {
      this.#repair();
      this.#journal?.appendDurable(record);
    } catch (err) {
      this.#logger.warn({ key, err: (err as Error).message }, 'replay could not be counted in the journal');
    }
    this.#apply(record);
  }

  /** Makes what was recorded durable (best effort: frames are already, in `check`). */
  sync(): void {
    try {
      this.#journal?.sync();
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message }, 'journal flush failed');
    }
  }

  close(): void {
    this.#journal?.close();
  }

  /** Applies a result, sent or replay record; a journal that cannot take it is logged, not thrown. */
  #record(record: JournalRecord): void {
    let encoded: Uint8Array | undefined;
    if (this.#journal) {
      try {
        this.#repair();
        encoded = this.#journal.append(record);
      } catch (err) {
        this.#logger.warn({ key: record.key, kind: record.kind, err: (err as Error).message }, 'journal record not written: after a crash this request may be answered again');
      }
    }
    this.#apply(record, encoded);
    this.#compact();
  }

  /** A broken journal is rewritten from the live state before the next append (at most once per retry interval). */
  #repair(): void {
    const journal = this.#journal!;
    if (!journal.broken) return;
    if (!journal.mayRewrite()) {
      throw new DynasplitError(ErrorCodes.STORAGE, `journal cannot be written: ${journal.broken}`, { retryable: true });
    }
    journal.rewrite(this.#live());
  }

  /** Settles when no compaction is in progress (tests; a clean shutdown need not wait: a crash mid-compaction replays a complete state). */
  async compacted(): Promise<void> {
    while (this.#journal?.compacting) await this.#journal.compacting;
  }

  /** Amortised compaction: once as many bytes as the live state (and at least segmentBytes) were appended since the last. */
  #compact(): void {
    const journal = this.#journal;
    if (!journal || journal.broken || journal.compacting || journal.appended < Math.max(this.#segmentBytes, this.#bytes) || !journal.mayRewrite()) return;
    try {
      journal.compact([...this.#live()]);
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message }, 'journal compaction failed: appending to the current segment');
    }
  }

  /** `encoded`: the record's bytes as appended (results and sent marks), kept for compactions. */
  #apply(record: JournalRecord, encoded?: Uint8Array): void {
    const entry = this.#entries.get(record.key);
    const size = recordBytes(record);
    if (record.kind === RecordKind.frame) {
      if (entry) return;
      this.#add(record.key, { sensorId: record.sensorId, state: 'running', frame: this.#journal ? record.payload : undefined, replays: 0, bytes: size });
      this.#runningBytes += size;
    } else if (record.kind === RecordKind.result) {
      // The result is the record's tail: kept once, as a view of the record's bytes.
      const result = encoded ? encoded.subarray(encoded.length - record.payload.length) : record.payload;
      if (!entry) {
        this.#add(record.key, { sensorId: record.sensorId, state: 'answered', result, resultRecord: encoded, replays: 0, bytes: size });
      } else if (entry.state === 'running') {
        this.#runningBytes -= entry.bytes;
        this.#bytes += size - entry.bytes;
        Object.assign(entry, { state: 'answered', result, resultRecord: encoded, frame: undefined, bytes: size });
      }
    } else if (record.kind === RecordKind.replay) {
      if (entry?.state === 'running') entry.replays++;
    } else if (entry?.state === 'answered') {
      entry.state = 'sent';
      entry.sentRecord = encoded;
    }
    this.#evict();
  }

  #add(key: string, entry: Entry): void {
    this.#entries.set(key, entry);
    this.#bytes += entry.bytes;
  }

  /** Forgets the oldest request ids beyond the count or bytes allowed; a running one is kept (moved to the young end). */
  #evict(): void {
    const over = () => this.#entries.size > this.#options.capacity || this.#bytes > this.#options.maxBytes;
    for (let turns = this.#entries.size; over() && turns > 0; turns--) {
      const [key, entry] = this.#entries.entries().next().value!;
      this.#entries.delete(key);
      if (entry.state === 'running') this.#entries.set(key, entry);
      else this.#bytes -= entry.bytes;
    }
  }

  /** The records that rebuild the present state, oldest first (those appended since the start as their bytes). */
  *#live(): Generator<LiveRecord> {
    for (const [key, entry] of this.#entries) {
      if (entry.state === 'running') {
        if (!entry.frame) continue;
        yield { kind: RecordKind.frame, key, sensorId: entry.sensorId, payload: entry.frame };
        for (let i = 0; i < entry.replays; i++) yield { kind: RecordKind.replay, key, sensorId: entry.sensorId, payload: EMPTY };
        continue;
      }
      yield entry.resultRecord ?? { kind: RecordKind.result, key, sensorId: entry.sensorId, payload: entry.result ?? EMPTY };
      if (entry.state === 'sent') yield entry.sentRecord ?? { kind: RecordKind.sent, key, sensorId: entry.sensorId, payload: EMPTY };
    }
  }
}
