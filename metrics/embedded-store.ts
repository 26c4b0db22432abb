/**
 * The in-process MetricsStore: the last `capacity` points of each measurement in a ring buffer,
 * queries computed natively (stats.ts) with the same definitions as the InfluxQL ones. For a single
 * node or a test; nothing survives the process.
 */
import { requirePositiveIntegers, stripUndefined } from '../common/index.ts';
import type {
  ConfigStats, LinkMetric, LinkQuery, LinkSample, LinkSamplesQuery, LinkStats, MetricsStore, MetricsStoreStats, OptimizerMetric, RequestMetric, WindowQuery, ConfigFailures } from './metrics-store.ts';
import { configurationFailuresOf } from './failures.ts';
import { RingBuffer } from './ring-buffer.ts';
import { configurationStatsOf, LINK_SAMPLES_LIMIT, linkStatsOf } from './stats.ts';

export interface EmbeddedStoreOptions {
  /** Points kept per measurement; the oldest is evicted beyond it. Default 100,000. */
  capacity?: number;
}

export const EMBEDDED_DEFAULTS = { capacity: 100_000 } as const satisfies Required<EmbeddedStoreOptions>;

/** Stored timestamps are whole ms, as in InfluxDB, so windows cut at the same points in both stores. */
function inWindow(timeMs: number, sinceMs: number, untilMs: number | undefined): boolean {
  const t = Math.floor(timeMs);
  return t >= sinceMs && (untilMs === undefined || t < untilMs);
}

export class EmbeddedMetricsStore implements MetricsStore {
  readonly kind = 'embedded';
  private readonly requests: RingBuffer<RequestMetric>;
  private readonly links: RingBuffer<LinkMetric>;
  private readonly optimizer: RingBuffer<OptimizerMetric>;
  private written = 0;
  private dropped = 0;

  constructor(options: EmbeddedStoreOptions = {}) {
    const resolved = { ...EMBEDDED_DEFAULTS, ...stripUndefined(options) };
    requirePositiveIntegers('embedded metrics store', resolved, ['capacity']);
    this.requests = new RingBuffer(resolved.capacity);
    this.links = new RingBuffer(resolved.capacity);
    this.optimizer = new RingBuffer(resolved.capacity);
  }

  writeRequest(m: RequestMetric): void {
    this.written++;
    if (this.requests.push(m) !== undefined) this.dropped++;
  }

  writeLink(m: LinkMetric): void {
    this.written++;
    if (this.links.push(m) !== undefined) this.dropped++;
  }

  writeOptimizer(m: OptimizerMetric): void {
    this.written++;
    if (this.optimizer.push(m) !== undefined) this.dropped++;
  }

  async ready(): Promise<void> {
    // In-process: nothing to set up.
  }

  async flush(): Promise<void> {
    // Points are stored as they are written.
  }

  async configurationStats(q: WindowQuery): Promise<ConfigStats[]> {
    const selected: RequestMetric[] = [];
    this.requests.forEach((r) => {
      if (r.model === q.model && r.errorCode === '' && inWindow(r.timeMs, q.sinceMs, q.untilMs)
        && (q.edgeClass === undefined || r.edgeClass === q.edgeClass)) selected.push(r);
    });
    return configurationStatsOf(selected);
  }

  async configurationFailures(q: WindowQuery): Promise<ConfigFailures[]> {
    const selected: RequestMetric[] = [];
    this.requests.forEach((r) => {
      if (r.model === q.model && inWindow(r.timeMs, q.sinceMs, q.untilMs) && (q.edgeClass === undefined || r.edgeClass === q.edgeClass)) selected.push(r);
    });
    return configurationFailuresOf(selected);
  }

  async linkStats(q: LinkQuery): Promise<LinkStats> {
    return linkStatsOf(this.linksIn(q));
  }

  async linkSamples(q: LinkSamplesQuery): Promise<LinkSample[]> {
    const limit = q.limit ?? LINK_SAMPLES_LIMIT;
    const selected = this.linksIn(q);
    return selected.slice(Math.max(0, selected.length - limit))
      .map((l) => ({ timeMs: Math.floor(l.timeMs), bytes: l.bytes, transferMs: l.transferMs }));
  }

  /** Written order is time order for one writer; InfluxDB sorts by time, so sort here too. */
  private linksIn(q: LinkQuery): LinkMetric[] {
    const selected: LinkMetric[] = [];
    this.links.forEach((l) => {
      if (inWindow(l.timeMs, q.sinceMs, q.untilMs) && (q.edgeId === undefined || l.edgeId === q.edgeId)) selected.push(l);
    });
    return selected.sort((a, b) => Math.floor(a.timeMs) - Math.floor(b.timeMs));
  }

  stats(): MetricsStoreStats {
    return { written: this.written, dropped: this.dropped, buffered: 0, writeFailures: 0 }; // stored as written: nothing waits
  }

  async close(): Promise<void> {
    // Nothing to release; the points stay readable.
  }
}
