/**
 * The InfluxDB MetricsStore. Writes: the official client's v2 write API (InfluxDB 2.x, 3.x, Cloud,
 * 1.8+) or POST /write?db= for 1.x, through a bounded buffer that never blocks the request path
 * (influx-writer.ts). Reads: InfluxQL over /query (influx-query.ts). Schema: schema.ts, docs/metrics.md.
 */
import { ErrorCodes, isDynasplitError, silentLogger, type Logger } from '../common/index.ts';
import { resolveInfluxOptions, type InfluxStoreOptions, type ResolvedInfluxOptions } from './influx-options.ts';
import {
  configurationStatsQueries, linkSamplesQuery, linkStatsQuery, runQueries, toConfigStats, toLinkSamples, toLinkStats,
} from './influx-query.ts';
import { configurationFailuresQueries, toConfigFailures } from './failures.ts';
import { setUpInflux } from './influx-setup.ts';
import { createSink, type LineSink } from './influx-sinks.ts';
import { InfluxWriter } from './influx-writer.ts';
import type {
  ConfigStats, LinkMetric, LinkQuery, LinkSample, LinkSamplesQuery, LinkStats, MetricsStore, MetricsStoreStats, OptimizerMetric, RequestMetric, WindowQuery, ConfigFailures } from './metrics-store.ts';

/** ms a start waits for the store before it says that it waits. */
const SLOW_START_MS = 2_000;

export class InfluxMetricsStore implements MetricsStore {
  readonly kind = 'influxdb';
  private readonly options: ResolvedInfluxOptions;
  private readonly writer: InfluxWriter;
  private closing: Promise<void> | undefined;
  private readonly logger: Logger;
  /** The set-up (influx-setup.ts): started at construction, again before a send while it has not succeeded. */
  private setUp: Promise<void>;
  private readonly aborted = new AbortController();

  /**
   * Throws DYNASPLIT_ERR_BAD_ARGS on invalid options. Starts setting the store up at once (ready());
   * a server that is down is waited for: points are buffered and the set-up runs again before each send.
   */
  constructor(options: InfluxStoreOptions) {
    this.options = resolveInfluxOptions(options);
    this.logger = (options.logger ?? silentLogger()).child({ component: 'metrics', store: 'influxdb' });
    this.setUp = this.setUpOnce();
    this.setUp.catch(() => {}); // ready() and the first send report it
    this.writer = new InfluxWriter(this.options, this.preparedSink(createSink(this.options)), this.logger);
  }

  /**
   * Resolves once the store takes writes (a missing 1.x database created), or when the server does not
   * answer (said in one warning; points wait in the buffer). Rejects with DYNASPLIT_ERR_METRICS_STORE,
   * naming the fix, when it cannot take writes as configured: a component should stop at start then.
   */
  async ready(options: { read?: boolean } = {}): Promise<void> {
    // A server that takes the connection and never answers holds the start for a whole request timeout: say so meanwhile.
    const slow = setTimeout(() => this.logger.info({ url: this.options.url, timeoutMs: this.options.requestTimeoutMs },
      'waiting for the metrics store to answer'), SLOW_START_MS);
    try {
      await this.setUp;
      // A query of the window the optimizer reads first: refused rights show now, not in every round.
      if (options.read) await runQueries(this.options, [linkStatsQuery({ sinceMs: Date.now() - 1_000 })]);
    } catch (err) {
      if (isDynasplitError(err, ErrorCodes.METRICS_STORE)) throw err;
      this.logger.warn({ url: this.options.url, code: (err as { code?: string }).code, err: (err as Error).message },
        options.read ? 'metrics store not reachable; reads are tried again each round' : 'metrics store not reachable; points are buffered until it is');
    } finally {
      clearTimeout(slow);
    }
  }

  private setUpOnce(): Promise<void> {
    return setUpInflux(this.options, this.logger, this.aborted.signal);
  }

  /** Sends only once the set-up has succeeded; a failed one is tried again with the send it held up. */
  private preparedSink(sink: LineSink): LineSink {
    let done = false;
    return {
      send: async (lines) => {
        if (!done) {
          try {
            await this.setUp;
          } catch (err) {
            if (!isDynasplitError(err, ErrorCodes.METRICS_STORE)) this.setUp = this.setUpOnce(); // transient: again on the next try
            this.setUp.catch(() => {});
            throw err;
          }
          done = true;
        }
        await sink.send(lines);
      },
      close: () => sink.close(),
    };
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
    return (this.closing ??= this.writer.close().finally(() => this.aborted.abort()));
  }
}
