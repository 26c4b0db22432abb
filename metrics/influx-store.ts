/**
 * The InfluxDB MetricsStore. Writes: the official client's v2 write API (InfluxDB 2.x, 3.x, Cloud,
 * 1.8+) or POST /write?db= for 1.x, through a bounded buffer that never blocks the request path
 * (influx-writer.ts). Reads: InfluxQL over /query (influx-query.ts). Schema: schema.ts, docs/metrics.md.
 */
import { silentLogger } from '../common/index.ts';
import { resolveInfluxOptions, type InfluxStoreOptions, type ResolvedInfluxOptions } from './influx-options.ts';
import {
  configurationStatsQueries, linkSamplesQuery, linkStatsQuery, runQueries, toConfigStats, toLinkSamples, toLinkStats,
} from './influx-query.ts';
import { configurationFailuresQueries, toConfigFailures, type ConfigFailures } from './failures.ts';
import { createSink } from './influx-sinks.ts';
import { InfluxWriter } from './influx-writer.ts';
import type {
  ConfigStats, LinkMetric, LinkQuery, LinkSample, LinkSamplesQuery, LinkStats, MetricsStore, MetricsStoreStats, OptimizerMetric, RequestMetric, WindowQuery,
} from './metrics-store.ts';

export class InfluxMetricsStore implements MetricsStore {
  readonly kind = 'influxdb';
  private readonly options: ResolvedInfluxOptions;
  private readonly writer: InfluxWriter;
  private closing: Promise<void> | undefined;

  /** Throws DYNASPLIT_ERR_BAD_ARGS on invalid options; connects lazily (the database may be down). */
  constructor(options: InfluxStoreOptions) {
    this.options = resolveInfluxOptions(options);
    const logger = (options.logger ?? silentLogger()).child({ component: 'metrics', store: 'influxdb' });
    this.writer = new InfluxWriter(this.options, createSink(this.options), logger);
  }

  writeRequest(m: RequestMetric): void {
    this.writer.writeRequest(m);
  }

  writeLink(m: LinkMetric): void {
    this.writer.writeLink(m);
  }

  writeOptimizer(m: OptimizerMetric): void {
    this.writer.writeOptimizer(m);
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  async configurationStats(q: WindowQuery): Promise<ConfigStats[]> {
    const [main, sources] = await runQueries(this.options, configurationStatsQueries(q));
    return toConfigStats(main!, sources!);
  }

  async configurationFailures(q: WindowQuery): Promise<ConfigFailures[]> {
    const [counts, lastFailures, lastSuccesses] = await runQueries(this.options, configurationFailuresQueries(q));
    return toConfigFailures(counts!, lastFailures!, lastSuccesses!);
  }

  async linkStats(q: LinkQuery): Promise<LinkStats> {
    const [series] = await runQueries(this.options, [linkStatsQuery(q)]);
    return toLinkStats(series!);
  }

  async linkSamples(q: LinkSamplesQuery): Promise<LinkSample[]> {
    const [series] = await runQueries(this.options, [linkSamplesQuery(q)]);
    return toLinkSamples(series!);
  }

  stats(): MetricsStoreStats {
    return this.writer.stats();
  }

  close(): Promise<void> {
    return (this.closing ??= this.writer.close());
  }
}
