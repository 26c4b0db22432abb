/**
 * Warnings that repeat (a sensor sending bad frames, a worker group gone) would print once per
 * request. The first of a kind is printed; later ones within the window are counted, and the window
 * closes with one summary line: "... (57 more like this in 10 s)". A kind is its level, component,
 * node, MQTT connection (`clientId`: a node's connections are lost one by one), cloud worker
 * (`worker`: each one that fails is named once), error code and message. Pure: the caller passes the clock and decides when windows close.
 */

/** A pino log record as parsed from its JSON line. */
export interface LogRecord {
  level: number;
  time?: number;
  msg?: string;
  [field: string]: unknown;
}

/** pino's level numbers: warn and error repeat per request; fatal ends the process and is never held back. */
const WARN = 40;
const FATAL = 60;

interface Kind {
  first: LogRecord;
  /** ms when the current window opened */
  since: number;
  /** occurrences held back in the current window */
  held: number;
}

export class RepeatFilter {
  private readonly kinds = new Map<string, Kind>();

  /** true: print the record; false: it repeats one already printed in this window and was counted. */
  admit(record: LogRecord, nowMs: number): boolean {
    if (record.level < WARN || record.level >= FATAL) return true;
    const key = kindOf(record);
    const kind = this.kinds.get(key);
    if (!kind) {
      this.kinds.set(key, { first: record, since: nowMs, held: 0 });
      return true;
    }
    kind.held++;
    return false;
  }

  /** Whether a window is open (a kind seen and not yet forgotten): someone must call flush later. */
  get pending(): boolean {
    return this.kinds.size > 0;
  }

  /**
   * Closes the windows: one summary per kind with held-back records. A kind that had none is
   * forgotten, so its next occurrence prints in full again.
   */
  flush(nowMs: number): LogRecord[] {
    const summaries: LogRecord[] = [];
    for (const [key, kind] of this.kinds) {
      if (kind.held === 0) {
        this.kinds.delete(key);
        continue;
      }
      summaries.push(summary(kind, nowMs));
      kind.held = 0;
      kind.since = nowMs;
    }
    return summaries;
  }
}

function kindOf(record: LogRecord): string {
  return JSON.stringify([record.level, record.component, record.node, record.clientId, record.worker, codeOf(record), record.msg]);
}

/** The error code of a record: its own `code` field or its error's. */
export function codeOf(record: LogRecord): string | undefined {
  if (typeof record.code === 'string') return record.code;
  const err = record.err as { code?: unknown } | undefined;
  return typeof err?.code === 'string' ? err.code : undefined;
}

function summary(kind: Kind, nowMs: number): LogRecord {
  const { first } = kind;
  const seconds = Math.max(1, Math.round((nowMs - kind.since) / 1000));
  const code = codeOf(first);
  return {
    level: first.level,
    time: nowMs,
    ...(first.component !== undefined ? { component: first.component } : {}),
    ...(first.node !== undefined ? { node: first.node } : {}),
    ...(code !== undefined ? { code } : {}),
    repeated: kind.held,
    windowS: seconds,
    msg: `${first.msg ?? ''} (${kind.held} more like this in ${seconds} s)`,
  };
}
