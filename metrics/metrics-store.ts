/**
 * The MetricsStore contract: every answered request writes one RequestMetric, every tensor transfer
 * may write one LinkMetric; the optimizer reads aggregates back per configuration and per link.
 * Implementations: embedded-store.ts (in-process, bounded) and influx-store.ts (InfluxDB 1.x/2.x/3.x).
 * The schema the figures take in InfluxDB is in docs/metrics.md.
 */


/** Where a latency or energy figure comes from (docs/hardware.md); '' when unknown. */
export type FigureSource = 'measured' | 'emulated' | 'modelled' | '';

/** One answered request (measurement `request`). Times in ms, energy in J. */
export interface RequestMetric {
  /** Completion time, ms since the epoch. */
  timeMs: number;
  model: string;
  configuration: string;
  cut: string;
  codec: string;
  edgeId: string;
  edgeClass: string;
  workerId: string;
  sensorId: string;
  /** A DynasplitError code; '' on success. */
  errorCode: string;
  latencySource: FigureSource;
  energySource: FigureSource;
  endToEndMs: number;
  edgeComputeMs: number;
  encodeMs: number;
  transferMs: number;
  cloudQueueMs: number;
  cloudComputeMs: number;
  budgetMs: number;
  budgetMet: boolean;
  edgeFallback: boolean;
  tensorBytes: number;
  energyJ: number;
  edgeEnergyJ: number;
  cloudEnergyJ: number;
  frequencyMhz: number;
  threads: number;
  accelerator: string;
  cloudMode: string;
  /** 1/0 on the sampled requests checked against the full model; absent on the others. */
  top1Agreement?: number;
}

/** One tensor transfer edge -> cloud (measurement `link`). */
export interface LinkMetric {
  timeMs: number;
  edgeId: string;
  bytes: number;
  /** Time on the link alone: the round trip minus the worker's own time (queue, decode, compute, encode). */
  transferMs: number;
  /** The whole exchange as the edge saw it: request sent to reply received (link plus worker). */
  rttMs: number;
}

/** Aggregates over the successful requests of one configuration in a window. */
export interface ConfigStats {
  configuration: string;
  count: number;
  /** Nearest-rank percentiles of end-to-end latency (see percentileRank in stats.ts). */
  latencyP50Ms: number;
  latencyP95Ms: number;
  meanEnergyJ: number;
  /** Share of requests that met their budget, 0..1. */
  budgetMetRate: number;
  /** Mean top-1 agreement over the sampled requests; absent when none was sampled. */
  agreement?: number;
  /** The energy sources seen, sorted and joined with '+' (e.g. 'measured', 'measured+modelled'). */
  energySource: string;
}

export interface LinkStats {
  samples: number;
  /** sum(bytes·8) / sum(transferMs), in Mbit/s; 0 without samples. */
  bandwidthMbps: number;
  /** 50th percentile of rttMs as InfluxQL takes it (common/stats.ts influxPercentile: the lower middle for an even count); 0 without samples. */
  rttMs: number;
}

/** A time window: sinceMs inclusive, untilMs exclusive (no upper bound when absent). */
export interface WindowQuery {
  model: string;
  sinceMs: number;
  untilMs?: number;
  edgeClass?: string;
}

export interface LinkQuery {
  sinceMs: number;
  untilMs?: number;
  edgeId?: string;
}

/** One transfer as the link fit needs it (pareto/link-fit.ts): its size and its time on the link. */
export interface LinkSample {
  /** ms since the epoch, whole ms as stored. */
  timeMs: number;
  bytes: number;
  transferMs: number;
}

export interface LinkSamplesQuery extends LinkQuery {
  /** The newest `limit` transfers of the window at most. Default 10,000. */
  limit?: number;
}

/**
 * One round of the live optimizer for one (model, edge class) (measurement `optimizer`): what
 * Grafana shows of it. Counts are whole numbers.
 */
export interface OptimizerMetric {
  timeMs: number;
  optimizerId: string;
  model: string;
  edgeClass: string;
  round: number;
  spaceSize: number;
  frontSize: number;
  /** Configurations kept out of the front because their requests failed or fell back. */
  failing: number;
  /** Policy refusals the class's nodes report (their NodeStatus). */
  refusals: number;
  /** 1 when the class's nodes announced different knobs or cuts, else 0. */
  disagreeing: number;
  publishedVersion: number;
}

export interface MetricsStoreStats {
  /** Points that reached the store. */
  written: number;
  /** Points lost: evicted by the bound, or left unsent at close. */
  dropped: number;
  /** Points written but not yet in the store (the Influx store's unsent points; 0 for the embedded store). */
  buffered: number;
  /** Write requests that failed (database down, HTTP error). */
  writeFailures: number;
}

export interface MetricsStore {
  readonly kind: 'embedded' | 'influxdb';
  /**
   * Never blocks and never throws on the request path. The store keeps the object until it is
   * stored or sent: do not mutate it afterwards.
   */
  writeRequest(m: RequestMetric): void;
  writeLink(m: LinkMetric): void;
  writeOptimizer(m: OptimizerMetric): void;
  /** Resolves when everything written so far has reached the store (or been dropped and counted). */
  flush(): Promise<void>;
  /** Successful requests only (errorCode ''), one entry per configuration, sorted by configuration. */
  configurationStats(q: WindowQuery): Promise<ConfigStats[]>;
  /** Configurations with requests that failed or fell back in the window (metrics/failures.ts), sorted by configuration. */
  configurationFailures(q: WindowQuery): Promise<ConfigFailures[]>;
  linkStats(q: LinkQuery): Promise<LinkStats>;
  /** The window's transfers, oldest first (the newest `limit`): what a fit of rtt and bandwidth needs. */
  linkSamples(q: LinkSamplesQuery): Promise<LinkSample[]>;
  stats(): MetricsStoreStats;
  /**
   * Resolves once the store takes writes, or waits for a server that is down (points buffered);
   * rejects with DYNASPLIT_ERR_METRICS_STORE, naming the fix, when it cannot take writes as configured
   * (influx-setup.ts). Components await it at start, so a store that cannot work stops them there.
   * `read`: the component reads the store too (the optimizer): a query is tried as well, and one
   * refused as configured (rights, credentials, a missing database) rejects the same way.
   */
  ready(options?: { read?: boolean }): Promise<void>;
  /** Flushes, then releases timers and connections. Idempotent. */
  close(): Promise<void>;
}

/** Failures of one configuration in a window (metrics/failures.ts computes them). */
export interface ConfigFailures {
  configuration: string;
  /** Requests that failed or fell back in the window. */
  failures: number;
  /** ms since the epoch (whole ms as stored) of the newest failure, and of the newest clean success (0: none in the window). */
  lastFailureMs: number;
  lastSuccessMs: number;
}
