/**
 * Pure aggregation over plain metric objects: what the embedded store computes natively and what
 * the InfluxQL queries of the Influx store compute on the server, defined identically so both stores
 * give the same figures for the same points.
 */
import type { ConfigStats, LinkMetric, LinkStats, RequestMetric } from './metrics-store.ts';

/**
 * Zero-based index of the p-th percentile in `n` sorted values, or -1 when there is none: nearest
 * rank with the rank rounded half up, rank = floor(n·p/100 + 0.5). This is InfluxQL's PERCENTILE
 * (influxdb 1.x query/call_iterator.go, NewFloatPercentileReduceSliceFunc:
 * `int(math.Floor(float64(len(a))*percentile/100.0+0.5)) - 1`), evaluated in the same float64
 * operations and order so the index agrees bit for bit. It differs from the textbook ceil(n·p/100)
 * when the fractional part of n·p/100 is below 0.5 (n = 12, p = 95: rank 11, not 12).
 */
export function percentileIndex(n: number, p: number): number {
  const i = Math.floor((n * p) / 100 + 0.5) - 1;
  return i < 0 || i >= n ? -1 : i;
}

/** The p-th nearest-rank percentile of `sorted` (ascending), or undefined where InfluxQL gives null. */
export function percentileOfSorted(sorted: readonly number[], p: number): number | undefined {
  const i = percentileIndex(sorted.length, p);
  return i < 0 ? undefined : sorted[i];
}

/** The label for a set of energy sources: sorted, joined with '+'; '' (unknown) shows as 'unknown' beside others. */
export function sourceLabel(sources: Iterable<string>): string {
  const set = new Set(sources);
  if (set.size <= 1) return [...set][0] ?? '';
  return [...set].map((s) => s || 'unknown').sort().join('+');
}

/** Mbit/s from bytes and ms: bits per ms are kbit/s, hence the 1000. */
export function bandwidthMbps(bytes: number, transferMs: number): number {
  return transferMs > 0 ? (bytes * 8) / transferMs / 1000 : 0;
}

const ascending = (a: number, b: number): number => a - b;

/** Per-configuration stats over `requests` (already filtered to the window and to successes). */
export function configurationStatsOf(requests: Iterable<RequestMetric>): ConfigStats[] {
  const groups = new Map<string, RequestMetric[]>();
  for (const r of requests) {
    const group = groups.get(r.configuration);
    if (group) group.push(r);
    else groups.set(r.configuration, [r]);
  }
  return [...groups.keys()].sort().map((configuration) => summarize(configuration, groups.get(configuration)!));
}

function summarize(configuration: string, group: RequestMetric[]): ConfigStats {
  const latencies = group.map((r) => r.endToEndMs).sort(ascending);
  let energy = 0;
  let met = 0;
  let agreementSum = 0;
  let agreementCount = 0;
  for (const r of group) {
    energy += r.energyJ;
    if (r.budgetMet) met++;
    if (r.top1Agreement !== undefined) {
      agreementSum += r.top1Agreement;
      agreementCount++;
    }
  }
  const stats: ConfigStats = {
    configuration,
    count: group.length,
    latencyP50Ms: percentileOfSorted(latencies, 50) ?? 0,
    latencyP95Ms: percentileOfSorted(latencies, 95) ?? 0,
    meanEnergyJ: energy / group.length,
    budgetMetRate: met / group.length,
    energySource: sourceLabel(group.map((r) => r.energySource)),
  };
  if (agreementCount > 0) stats.agreement = agreementSum / agreementCount;
  return stats;
}

export function linkStatsOf(links: Iterable<LinkMetric>): LinkStats {
  let bytes = 0;
  let transferMs = 0;
  const rtts: number[] = [];
  for (const l of links) {
    bytes += l.bytes;
    transferMs += l.transferMs;
    rtts.push(l.rttMs);
  }
  rtts.sort(ascending);
  return { samples: rtts.length, bandwidthMbps: bandwidthMbps(bytes, transferMs), rttMs: percentileOfSorted(rtts, 50) ?? 0 };
}
