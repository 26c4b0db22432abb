/**
 * What the edge node knows of each request id: running, answered (with the encoded result), or
 * answered and acknowledged by the broker. QoS 1 delivers at least once, so a frame can arrive twice
 * (a broker redelivery, a sensor retry): a request id seen before is not run again, and its result,
 * once known, is sent again, so the sensor gets one answer per request id it sent.
 *
 * With a journal (`--state-dir`) this outlives the process: a frame is on disk before the broker is
 * told it arrived (`sync`, called from the MQTT client before its PUBACK), and a restarted node gets
 * back the frames it took but never answered, the results the broker never acknowledged, and the
 * request ids it remembers (./journal.ts).
 */
import type { Logger } from '../common/index.ts';
import { Journal, RecordKind, type JournalRecord } from './journal.ts';

export type Seen = { duplicate: false } | { duplicate: true; result?: Uint8Array };

type State = 'running' | 'answered' | 'sent';

interface Entry {
  sensorId: string;
  state: State;
  /** The frame as received, while it runs (kept only with a journal, to rewrite it). */
  frame?: Uint8Array;
  result?: Uint8Array;
}

export interface Recovered {
  /** Frames acknowledged to the broker but never answered: to run again. */
  frames: { key: string; sensorId: string; payload: Uint8Array }[];
  /** Results published but not acknowledged by the broker: to send again. */
  unsent: { key: string; sensorId: string; result: Uint8Array }[];
}

export class RequestLog {
  /** key -> entry; insertion order is age. */
  readonly #entries = new Map<string, Entry>();
  readonly #capacity: number;
  readonly #journal?: Journal;

  constructor(capacity: number, journal?: Journal) {
    this.#capacity = capacity;
    this.#journal = journal;
  }

  /** The log kept in `dir`, and what the node must finish from before its restart. */
  static open(capacity: number, dir: string, logger: Logger, segmentBytes?: number): { log: RequestLog; recovered: Recovered } {
    const { journal, records } = Journal.open({ dir, logger, segmentBytes });
    const log = new RequestLog(capacity, journal);
    for (const record of records) log.#apply(record);
    journal.rewrite(log.#live());
    const recovered: Recovered = { frames: [], unsent: [] };
    for (const [key, entry] of log.#entries) {
      if (entry.state === 'running' && entry.frame) recovered.frames.push({ key, sensorId: entry.sensorId, payload: entry.frame });
      if (entry.state === 'answered' && entry.result) recovered.unsent.push({ key, sensorId: entry.sensorId, result: entry.result });
    }
    if (records.length > 0) {
      logger.info({ dir, remembered: log.#entries.size, frames: recovered.frames.length, unsent: recovered.unsent.length }, 'state recovered');
    }
    return { log, recovered };
  }

  get durable(): boolean {
    return this.#journal !== undefined;
  }

  /** Records `key` as running unless it was seen; says what is known when it was. */
  check(key: string, sensorId: string, frame: Uint8Array): Seen {
    const entry = this.#entries.get(key);
    if (entry) return { duplicate: true, result: entry.result };
    this.#record({ kind: RecordKind.frame, key, sensorId, payload: frame });
    return { duplicate: false };
  }

  answered(key: string, sensorId: string, result: Uint8Array): void {
    this.#record({ kind: RecordKind.result, key, sensorId, payload: result });
  }

  /** The broker acknowledged the result of `key`. */
  sent(key: string): void {
    const entry = this.#entries.get(key);
    if (entry && entry.state === 'answered') this.#record({ kind: RecordKind.sent, key, sensorId: entry.sensorId, payload: EMPTY });
  }

  /** Makes the frames recorded so far durable; call before acknowledging them to the broker. */
  sync(): void {
    this.#journal?.sync();
  }

  close(): void {
    this.#journal?.close();
  }

  #record(record: JournalRecord): void {
    this.#apply(record);
    if (!this.#journal) return;
    this.#journal.append(record);
    if (this.#journal.full) this.#journal.rewrite(this.#live());
  }

  #apply(record: JournalRecord): void {
    const entry = this.#entries.get(record.key);
    if (record.kind === RecordKind.frame) {
      if (entry) return;
      this.#entries.set(record.key, { sensorId: record.sensorId, state: 'running', frame: this.#journal ? record.payload : undefined });
      this.#evict();
    } else if (record.kind === RecordKind.result) {
      if (!entry) {
        this.#entries.set(record.key, { sensorId: record.sensorId, state: 'answered', result: record.payload });
        this.#evict();
      } else if (entry.state === 'running') {
        Object.assign(entry, { state: 'answered', result: record.payload, frame: undefined });
      }
    } else if (entry?.state === 'answered') {
      entry.state = 'sent';
    }
  }

  /** Forgets the oldest request ids beyond the capacity; a running one is kept (moved to the young end). */
  #evict(): void {
    for (let turns = this.#entries.size; this.#entries.size > this.#capacity && turns > 0; turns--) {
      const [key, entry] = this.#entries.entries().next().value!;
      this.#entries.delete(key);
      if (entry.state === 'running') this.#entries.set(key, entry);
    }
  }

  /** The records that rebuild the present state, oldest first. */
  *#live(): Generator<JournalRecord> {
    for (const [key, entry] of this.#entries) {
      if (entry.state === 'running') {
        if (entry.frame) yield { kind: RecordKind.frame, key, sensorId: entry.sensorId, payload: entry.frame };
        continue;
      }
      yield { kind: RecordKind.result, key, sensorId: entry.sensorId, payload: entry.result ?? EMPTY };
      if (entry.state === 'sent') yield { kind: RecordKind.sent, key, sensorId: entry.sensorId, payload: EMPTY };
    }
  }
}

const EMPTY = new Uint8Array(0);
