/**
 * The write side of the Influx store: a bounded buffer between the request path and the database.
 * write() only appends to a ring buffer (no formatting, no I/O); a pump formats and sends batches in
 * the background. A failed send puts its batch back and retries with exponential backoff; while the
 * database is away the buffer keeps the newest maxBufferedPoints points and counts the dropped ones.
 */
import { DynasplitError, ErrorCodes, isDynasplitError, messageWithCauses, type Logger } from '../common/index.ts';
import type { ResolvedInfluxOptions } from './influx-options.ts';
import { failureStatus, isPermanentStatus, type LineSink } from './influx-sinks.ts';
import { storeProblem } from './influx-setup.ts';
import type { LinkMetric, MetricsStoreStats, OptimizerMetric, RequestMetric } from './metrics-store.ts';
import { RingBuffer } from './ring-buffer.ts';
import { linkLine, optimizerLine, requestLine, Timestamper } from './schema.ts';

/** A point as written, formatted only when sent; seq orders points for flush(). */
interface Entry {
  seq: number;
  request?: RequestMetric;
  link?: LinkMetric;
  optimizer?: OptimizerMetric;
  /** Set by the first send: a retry sends the same line (and timestamp) again. */
  line?: string;
}

/** ms; first backoff step after a failed write, doubled per further failure up to maxRetryDelayMs. */
const MIN_RETRY_DELAY_MS = 100;

export class InfluxWriter {
  private readonly buffer: RingBuffer<Entry>;
  private inFlight: Entry[] = [];
  private readonly timestamps = new Timestamper();
  private nextSeq = 0;
  private written = 0;
  private dropped = 0;
  private writeFailures = 0;
  /** Consecutive failures: the backoff exponent, and whether an outage is being logged. */
  private failing = 0;
  private sending: Promise<void> | undefined;
  private warnedFull = false;
  private scheduled = false;
  private closed = false;
  /** Set when close() stops waiting: a batch that fails then is dropped, not retried. */
  private abandoned = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly interval: NodeJS.Timeout;
  private waiters: { seq: number; resolve: () => void }[] = [];
  /**
   * Set when the store cannot take writes as configured (influx-setup.ts): said once, then every point
   * is dropped and counted until `brokenUntil`, when points are taken and sent again (a fixed store resumes).
   */
  private broken: DynasplitError | undefined;
  private brokenUntil = 0;
  /** The last breakdown said in the log: a later one for the same reason is not said again. */
  private saidBroken = '';

  constructor(private readonly options: ResolvedInfluxOptions, private readonly sink: LineSink, private readonly logger: Logger) {
    this.buffer = new RingBuffer(options.maxBufferedPoints);
    this.interval = setInterval(() => this.pumpSoon(), options.flushIntervalMs);
    this.interval.unref(); // metrics alone must not keep a process alive; close() flushes
  }

  writeRequest(request: RequestMetric): void {
    this.append({ seq: this.nextSeq++, request });
  }

  writeLink(link: LinkMetric): void {
    this.append({ seq: this.nextSeq++, link });
  }

  writeOptimizer(optimizer: OptimizerMetric): void {
    this.append({ seq: this.nextSeq++, optimizer });
  }

  private append(entry: Entry): void {
    if (this.broken && Date.now() >= this.brokenUntil) this.broken = undefined; // try the store again
    if (this.closed || this.broken) {
      this.dropped++;
      return;
    }
    // The batch in flight counts against the bound: if it fails it comes back.
    if (this.buffer.length + this.inFlight.length >= this.options.maxBufferedPoints) this.dropOldest();
    this.buffer.push(entry);
    if (this.buffer.length >= this.options.batchSize) this.pumpSoon();
  }

  /** Resolves when every point written before the call has been sent or dropped. */
  flush(): Promise<void> {
    const seq = this.nextSeq;
    if (this.settledBefore(seq)) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.waiters.push({ seq, resolve }));
    this.retryNow();
    return done;
  }

  /** Sends what it can within closeTimeoutMs, then drops (and counts) the rest. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.interval);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise((resolve) => (timer = setTimeout(resolve, this.options.closeTimeoutMs)))]);
    clearTimeout(timer);
    this.abandoned = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const left = this.buffer.take(this.buffer.length).length;
    if (left > 0) this.logger.warn({ points: left }, 'metrics store closed with unsent points; dropped');
    this.dropped += left;
    await this.sending; // a batch in flight settles by itself, bounded by requestTimeoutMs
    this.wake();
    await this.sink.close();
  }

  stats(): MetricsStoreStats {
    return { written: this.written, dropped: this.dropped, buffered: this.buffer.length + this.inFlight.length, writeFailures: this.writeFailures };
  }

  private dropOldest(): void {
    if (this.buffer.shift() === undefined) return;
    this.dropped++;
    if (!this.warnedFull) this.logger.warn({ maxBufferedPoints: this.options.maxBufferedPoints }, 'metrics buffer full; dropping the oldest points');
    this.warnedFull = true;
    this.wake();
  }

  private settledBefore(seq: number): boolean {
    const oldest = this.inFlight[0] ?? this.buffer.peek();
    return oldest === undefined || oldest.seq >= seq;
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (this.settledBefore(w.seq)) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  /** Off the caller's stack: write() must not start I/O. */
  private pumpSoon(): void {
    if (this.buffer.length === 0 || this.scheduled || this.sending || this.retryTimer) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.pump();
    });
  }

  private retryNow(): void {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    this.pumpSoon();
  }

  private pump(): Promise<void> {
    if (this.sending || this.retryTimer) return this.sending ?? Promise.resolve();
    this.sending = this.drain().finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0 && !this.retryTimer) {
      this.inFlight = this.buffer.take(this.options.batchSize);
      await this.sendInFlight();
      this.wake();
    }
  }

  private async sendInFlight(): Promise<void> {
    const batch = this.format(this.inFlight);
    this.inFlight = batch;
    const lines = batch.map((entry) => entry.line!);
    try {
      if (lines.length > 0) await this.sink.send(lines);
      this.inFlight = [];
      this.written += lines.length;
      if (this.failing > 0) this.logger.info({ failures: this.failing, buffered: this.buffer.length }, 'metrics writes resumed');
      this.failing = 0;
      this.saidBroken = '';
      this.warnedFull = false;
    } catch (err) {
      this.inFlight = [];
      this.writeFailures++;
      this.failing++;
      const unusable = isDynasplitError(err, ErrorCodes.METRICS_STORE) ? err : storeProblem(this.options, failureStatus(err) ?? 0, (err as Error).message ?? '');
      if (unusable) {
        this.breakDown(unusable, batch.length);
        return;
      }
      if (this.abandoned || isPermanentStatus(failureStatus(err))) {
        // Sending the same lines again cannot succeed (bad line, unknown database, auth), or close() gave up.
        this.dropped += batch.length;
        this.logger.error({ err: this.coded(err), points: batch.length }, 'metrics write failed; batch dropped');
        return;
      }
      if (this.failing === 1) this.logger.warn({ err: this.coded(err), buffered: this.buffer.length + batch.length }, 'metrics write failed; buffering and retrying');
      const overflow = this.buffer.unshiftAll(batch);
      this.dropped += overflow.length;
      this.scheduleRetry();
    }
  }

  /**
   * Writing again cannot help (database or bucket missing, credentials refused): one coded error line
   * with the fix, then every point buffered or written later is dropped and counted, without a line each.
   */
  private breakDown(err: DynasplitError, inFlight: number): void {
    this.broken = err;
    this.brokenUntil = Date.now() + this.options.brokenRetryMs;
    const buffered = this.buffer.take(this.buffer.length).length;
    this.dropped += inFlight + buffered;
    if (err.message === this.saidBroken) return;
    this.saidBroken = err.message;
    this.logger.error({ code: err.code, ...err.details },
      `${err.message}; metrics are dropped until it is fixed (tried again every ${every(this.options.brokenRetryMs)}, no restart needed)`);
  }

  /** The reason the store takes no writes, when it does not. */
  brokenBy(): DynasplitError | undefined {
    return this.broken;
  }

  /** The entries that have a line of protocol; one that cannot be formatted is dropped and counted. */
  private format(batch: Entry[]): Entry[] {
    const formatted: Entry[] = [];
    for (const entry of batch) {
      try {
        entry.line ??= entry.request ? requestLine(entry.request, this.timestamps)
          : entry.optimizer ? optimizerLine(entry.optimizer, this.timestamps) : linkLine(entry.link!, this.timestamps);
      } catch (err) {
        this.logger.error({ err }, 'metric point cannot be formatted; dropped');
      }
      entry.request = entry.link = entry.optimizer = undefined; // the line is all a retry needs
      if (entry.line) formatted.push(entry);
      else this.dropped++;
    }
    return formatted;
  }

  /** A failed write as a coded error for the log: a network failure is the store out of reach, not a bug (no stack). */
  private coded(err: unknown): unknown {
    if (isDynasplitError(err) || !(err instanceof Error)) return err;
    return new DynasplitError(ErrorCodes.TRANSPORT, `InfluxDB at ${this.options.url} cannot be reached: ${messageWithCauses(err)}`, { cause: err, retryable: true });
  }

  private scheduleRetry(): void {
    const base = Math.min(this.options.maxRetryDelayMs, MIN_RETRY_DELAY_MS * 2 ** Math.min(this.failing - 1, 20));
    const delay = base / 2 + (Math.random() * base) / 2; // jitter: writers restarted together do not retry in step
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.pump();
    }, delay);
    // Background retries must not keep a process alive, but a pending flush() must not be abandoned.
    if (this.waiters.length === 0) this.retryTimer.unref();
  }
}

const every = (ms: number): string => (ms >= 1_000 ? `${Math.round(ms / 1_000)} s` : `${ms} ms`);
