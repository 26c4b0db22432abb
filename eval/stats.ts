/**
 * Per-strategy tallies and the figures reported from them. Every outcome of the plain simulation is a
 * recorded run, so its distributions are counts over the pool's rows: the median energy and the p95
 * latency are exact, from those counts, in O(rows) memory whatever the number of requests. With
 * queueing, latency adds waits and is no longer a pool value: each request's latency is kept (8 bytes
 * a request) and sorted once at the end — still exact.
 *
 * Definitions are common/stats.ts's: median = the middle value, or the mean of the middle two for an
 * even count; p95 = nearest rank (the ceil(0.95 n)-th smallest).
 *
 * Per-request records (for distributions in `eval report`) are a bounded, seeded sample: RequestSample.
 */
import { medianByRank, nearestRank, nearestRankOf, tensorRng, type Rng } from '../common/index.ts';
import type { PoolTable } from './table.ts';

/**
 * One strategy's figures: what the simulation and the testbed compute, what `eval simulate --json`
 * writes and what a results file reads back as (results.ts: JSON's null is NaN again). NaN where there
 * were no requests.
 */
export interface StrategyReport {
  requests: number;
  /** J per request. */
  meanEnergyJ: number;
  medianEnergyJ: number;
  /** Share of requests whose latency was within their budget, 0..1. */
  budgetMetRate: number;
  /** ms */
  meanLatencyMs: number;
  p95LatencyMs: number;
  meanAccuracy: number;
  /** 1 - meanEnergyJ / the cloud-only configuration's mean energy over the same requests; null without a cloud-only mark. */
  savingsVsCloudOnly: number | null;
  /** Requests per configuration name (most used first). */
  configurations: Record<string, number>;
  /** Queueing only: mean wait for a cloud worker, and for the edge device (busy with earlier requests), ms. */
  meanQueueWaitMs?: number;
  meanEdgeWaitMs?: number;
}

/**
 * One request as a strategy served it (the simulation's and the testbed's `records`, `eval report`'s
 * distributions); accuracy NaN where not known (null in a results file).
 */
export interface RequestOutcome {
  /** ms */
  budgetMs: number;
  latencyMs: number;
  /** J */
  energyJ: number;
  /** 0..1 */
  accuracy: number;
  configuration: string;
  /** latencyMs <= budgetMs */
  met: boolean;
}

/** The outcome of pool row `row` of configuration `c` (plain simulation: the latency is the run's). */
export function outcome(table: PoolTable, c: number, row: number, budgetMs: number): RequestOutcome {
  const latencyMs = table.latencyMs[row];
  return { budgetMs, latencyMs, energyJ: table.energyJ[row], accuracy: table.accuracy[row], configuration: table.names[c], met: latencyMs <= budgetMs };
}

/**
 * Keeps the outcomes of `wanted` of `total` requests, chosen uniformly at random as they stream past,
 * in request order: selection sampling (Knuth, TAOCP vol. 2, 3.4.2, Algorithm S). Request i is taken
 * with probability (still wanted) / (still to come), so exactly min(wanted, total) are taken, every
 * subset equally likely. Seeded, and one choice per request: every strategy keeps the same requests.
 */
export class RequestSample {
  private readonly rng: Rng;
  private readonly kept: RequestOutcome[][];
  private seen = 0;
  private taken = 0;

  constructor(private readonly total: number, private readonly wanted: number, strategies: number, seed: number) {
    this.rng = tensorRng(seed, 'eval/records');
    this.kept = Array.from({ length: strategies }, () => []);
  }

  /** Whether all requests are kept (no sampling). */
  get complete(): boolean {
    return this.wanted >= this.total;
  }

  /** Call once per request, in order: whether to keep this one. */
  take(): boolean {
    const left = this.total - this.seen++;
    if (this.taken >= this.wanted || left <= 0) return false;
    if (this.complete || left * this.rng.nextFloat() < this.wanted - this.taken) {
      this.taken++;
      return true;
    }
    return false;
  }

  /** The outcome of strategy `s` for a request take() kept. */
  add(s: number, kept: RequestOutcome): void {
    this.kept[s].push(kept);
  }

  /** The report's `records` (per strategy name, in `names` order) and `recordsSampled`. */
  result(names: readonly string[]): { records: Record<string, RequestOutcome[]>; recordsSampled: boolean } {
    return { records: Object.fromEntries(names.map((name, s) => [name, this.kept[s]])), recordsSampled: !this.complete };
  }
}

/** Rows of the table's model sorted by a per-row value (for exact quantiles over row counts). */
export function rowOrder(table: PoolTable, values: Float64Array): Int32Array {
  const rows = Int32Array.from(table.members.flatMap((m) => Array.from(m)));
  return rows.sort((a, b) => values[a] - values[b] || a - b);
}

export class Tally {
  private readonly rowCounts: Float64Array;
  private readonly configCounts: Float64Array;
  private readonly latencies: Float64Array | undefined;
  private requests = 0;
  private completed = 0;
  private met = 0;
  private energy = 0;
  private latency = 0;
  private accuracy = 0;
  private queueWait = 0;
  private edgeWait = 0;

  /** `keepLatencies`: the number of requests, when latency is not a pool value (queueing). */
  constructor(private readonly table: PoolTable, keepLatencies = 0) {
    this.rowCounts = new Float64Array(table.latencyMs.length);
    this.configCounts = new Float64Array(table.names.length);
    this.latencies = keepLatencies > 0 ? new Float64Array(keepLatencies) : undefined;
  }

  /** A request ran configuration `c` and got pool row `row`. */
  choose(c: number, row: number): void {
    this.requests++;
    this.rowCounts[row]++;
    this.configCounts[c]++;
    this.energy += this.table.energyJ[row];
    this.accuracy += this.table.accuracy[row];
  }

  /** Its latency (ms), once known; waits only with queueing. */
  finish(latencyMs: number, budgetMs: number, queueWaitMs = 0, edgeWaitMs = 0): void {
    if (this.latencies) this.latencies[this.completed] = latencyMs;
    this.completed++;
    this.latency += latencyMs;
    if (latencyMs <= budgetMs) this.met++;
    this.queueWait += queueWaitMs;
    this.edgeWait += edgeWaitMs;
  }

  /** The figures; `order` holds the rows sorted by energy and by latency (rowOrder); `baselineEnergyJ` is cloud-only's mean or null. */
  report(order: { energy: Int32Array; latency: Int32Array }, baselineEnergyJ: number | null): StrategyReport {
    const n = this.requests;
    const { table } = this;
    const meanEnergyJ = n > 0 ? this.energy / n : NaN;
    const medianEnergyJ = medianByRank(n, (k) => kth(order.energy, table.energyJ, this.rowCounts, k));
    const p95LatencyMs = n === 0 ? NaN : this.latencies
      ? nearestRank(this.latencies.subarray(0, this.completed).sort(), 0.95)
      : kth(order.latency, table.latencyMs, this.rowCounts, nearestRankOf(n, 0.95));
    const report: StrategyReport = {
      requests: n,
      meanEnergyJ,
      medianEnergyJ,
      budgetMetRate: n > 0 ? this.met / n : NaN,
      meanLatencyMs: n > 0 ? this.latency / n : NaN,
      p95LatencyMs,
      meanAccuracy: n > 0 ? this.accuracy / n : NaN,
      savingsVsCloudOnly: baselineEnergyJ === null || !(baselineEnergyJ > 0) ? null : 1 - meanEnergyJ / baselineEnergyJ,
      configurations: this.mix(),
    };
    if (this.latencies) {
      report.meanQueueWaitMs = n > 0 ? this.queueWait / n : NaN;
      report.meanEdgeWaitMs = n > 0 ? this.edgeWait / n : NaN;
    }
    return report;
  }

  private mix(): Record<string, number> {
    const used = [...this.configCounts.keys()].filter((c) => this.configCounts[c] > 0);
    used.sort((a, b) => this.configCounts[b] - this.configCounts[a] || a - b);
    return Object.fromEntries(used.map((c) => [this.table.names[c], this.configCounts[c]]));
  }
}

/** The k-th smallest (1-based) value when row r occurs counts[r] times; `order` sorts the rows by value. */
function kth(order: Int32Array, values: Float64Array, counts: Float64Array, k: number): number {
  let seen = 0;
  for (let i = 0; i < order.length; i++) {
    seen += counts[order[i]];
    if (seen >= k) return values[order[i]];
  }
  return NaN;
}
