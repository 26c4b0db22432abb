/** The logger type components take; a silent one when the caller passes none; the entry points' root logger. */
import { pino, stdSerializers, type Logger } from 'pino';
import { DynasplitError, ErrorCodes } from './errors.ts';
import { formatPretty } from './log-pretty.ts';
import { RepeatFilter, type LogRecord } from './log-repeats.ts';
import { onProgressDone, printAboveProgress } from './progress.ts';

export type { Logger } from 'pino';

/** json: one JSON object a line (files, pipes, collectors); pretty: one readable line (terminals). */
export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

export interface RootLoggerOptions {
  /** default json */
  format?: LogFormat;
  /** ANSI colours in the pretty format; default false */
  colors?: boolean;
  /** Where lines go; default the process's stderr (stdout carries command output). */
  write?: (text: string) => void;
  /** ms a window of repeated warnings stays open before its "N more like this" line; default 10000 */
  repeatWindowMs?: number;
  /** ms clock; default Date.now */
  now?: () => number;
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Streams with repeats held back, summarised when the process exits. */
const open = new Set<LogStream>();
let exitHook = false;

/** The root logger of an entry point: lines through a repeat filter, then printed above any progress bar. */
export function rootLogger(level: string, options: RootLoggerOptions = {}): Logger {
  const stream = new LogStream(options);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => { for (const s of open) s.summarise(); });
  }
  return pino({ level, base: { pid: process.pid }, serializers: { err: logError } }, stream);
}

/**
 * A coded error is a condition the code anticipated (a peer's bad input, a server away, a deadline
 * passed): its code, message and details say what happened, and our stack would only lengthen every
 * such line by hundreds of characters. An INTERNAL one, and any other error, is a bug to find: pino's
 * full form, stack and cause included.
 */
export function logError(err: unknown): unknown {
  if (err instanceof DynasplitError && err.code !== ErrorCodes.INTERNAL) {
    return { type: 'DynasplitError', code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
  }
  return err instanceof Error ? stdSerializers.err(err) : err;
}

/** Summarises the repeats held back by every root logger now (e.g. before a command prints its result). */
export function flushLogRepeats(): void {
  for (const stream of open) stream.summarise();
}

// The warnings of a step are summarised when its progress bar ends, next to it, not minutes later.
onProgressDone(flushLogRepeats);

/** pino's destination: it receives each record as one JSON line, synchronously. */
class LogStream {
  private readonly repeats = new RepeatFilter();
  private readonly format: LogFormat;
  private readonly print: (text: string) => void;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RootLoggerOptions) {
    this.format = options.format ?? 'json';
    this.now = options.now ?? Date.now;
    const write = options.write ?? ((text: string) => { process.stderr.write(text); });
    this.print = (text) => printAboveProgress(write, text);
  }

  write(line: string): void {
    const record = parse(line);
    if (!record) return this.print(line);
    const admitted = this.repeats.admit(record, this.now());
    if (this.repeats.pending) this.watch();
    if (admitted) this.print(this.format === 'pretty' ? formatPretty(record, this.options) : line);
  }

  /** pino's `logger.flush(cb)` lands here: nothing is buffered but the repeats held back. */
  flush(cb?: (err?: Error) => void): void {
    this.summarise();
    cb?.();
  }

  /** Prints one summary line per kind of repeated record and starts new windows. */
  summarise(): void {
    for (const summary of this.repeats.flush(this.now())) {
      this.print(this.format === 'pretty' ? formatPretty(summary, this.options) : `${JSON.stringify(summary)}\n`);
    }
    if (!this.repeats.pending) this.stop();
  }

  /** Closes the open windows every repeatWindowMs until none is left. */
  private watch(): void {
    open.add(this);
    // Unref'd: a window still open never keeps the process alive; the exit hook prints its summary.
    this.timer ??= setInterval(() => this.summarise(), this.options.repeatWindowMs ?? 10_000).unref();
  }

  private stop(): void {
    open.delete(this);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function parse(line: string): LogRecord | undefined {
  try {
    const record = JSON.parse(line) as LogRecord;
    return typeof record?.level === 'number' ? record : undefined;
  } catch {
    return undefined;
  }
}
