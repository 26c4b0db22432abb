/** The sensor's end-of-run summary: pure arithmetic over the results it received (common/stats.ts's definitions). */
import { mean, nearestRank, sortedCopy } from '../common/index.ts';
import type { Result } from '../schemas/index.ts';

export interface RunSummary {
  /** Frames sent. */
  requests: number;
  /** Answered with a prediction. */
  results: number;
  /** Answered with a coded error. */
  errors: number;
  errorsByCode: Record<string, number>;
  /** Never answered within the wait. */
  unanswered: number;
  /** Result messages beyond the first for a request id (re-sent results of redelivered frames). */
  duplicateResults: number;
  /** Share of requests answered with a prediction within their budget (unanswered count as missed). */
  budgetMetRate: number;
  /**
   * End to end at the sensor (capture to result received), successful results only; measured.
   * Nearest-rank percentiles; null when no request was answered with a prediction.
   */
  latencyMs: { p50: number; p95: number; p99: number; mean: number } | null;
  /**
   * Where the compute inside those latencies comes from: 'measured', or 'emulated' when nodes dilated
   * their compute to a device profile (the sensor still measures the wall time it observes).
   */
  computeSource: string;
  edgeFallbacks: number;
  /** Mean joules per successful inference and where the figure comes from; null when no node metered energy. */
  energy: { meanJ: number; source: string } | null;
  /** Successful results per configuration name. */
  configurations: Record<string, number>;
  /** Successful results per cloud worker id (results computed on the edge alone are not counted). */
  workers: Record<string, number>;
}

export interface Received { result: Result; latencyMs: number }

export function summarizeRun(requests: number, received: Iterable<Received>, duplicateResults = 0): RunSummary {
  let results = 0;
  let errors = 0;
  let met = 0;
  let fallbacks = 0;
  const errorsByCode: Record<string, number> = {};
  const configurations: Record<string, number> = {};
  const workers: Record<string, number> = {};
  const latencies: number[] = [];
  const joules: number[] = [];
  const sources = new Set<string>();
  const computeSources = new Set<string>();
  for (const { result, latencyMs } of received) {
    if (result.error?.code) {
      errors++;
      errorsByCode[result.error.code] = (errorsByCode[result.error.code] ?? 0) + 1;
      continue;
    }
    results++;
    latencies.push(latencyMs);
    if (latencyMs <= result.budget_ms) met++;
    if (result.edge_fallback) fallbacks++;
    if (result.latency?.source) computeSources.add(result.latency.source);
    const name = result.configuration?.name ?? '?';
    configurations[name] = (configurations[name] ?? 0) + 1;
    if (result.worker_id) workers[result.worker_id] = (workers[result.worker_id] ?? 0) + 1;
    if (result.energy?.source) {
      sources.add(result.energy.source);
      joules.push(result.energy.joules ?? 0);
    }
  }
  const sorted = sortedCopy(latencies);
  return {
    requests,
    results,
    errors,
    errorsByCode,
    unanswered: Math.max(0, requests - results - errors),
    duplicateResults,
    budgetMetRate: requests > 0 ? met / requests : 0,
    latencyMs: sorted.length > 0
      ? { p50: nearestRank(sorted, 0.5), p95: nearestRank(sorted, 0.95), p99: nearestRank(sorted, 0.99), mean: mean(sorted) }
      : null,
    computeSource: weakest(computeSources),
    edgeFallbacks: fallbacks,
    // Mixed sources are reported as the weakest claim: any modelled figure makes the mean modelled.
    energy: joules.length ? { meanJ: mean(joules), source: weakest(sources) } : null,
    configurations,
    workers,
  };
}

function weakest(sources: Set<string>): string {
  for (const s of ['modelled', 'emulated', 'measured']) if (sources.has(s)) return sources.size > 1 ? `${s} (mixed)` : s;
  return [...sources].join(',');
}
