/**
 * Pure aggregation over plain metric objects: what the embedded store computes natively and what
 * the InfluxQL queries of the Influx store compute on the server, defined identically so both stores
 * give the same figures for the same points. Percentiles are therefore InfluxQL's (common/stats.ts,
 * influxPercentile), not the nearest rank the rest of the project uses: a p50 here is not a median.
 */
import { ascending, influxPercentile } from '../common/index.ts';
import type { ConfigStats, LinkMetric, LinkStats, RequestMetric } from './metrics-store.ts';

/** The label for a set of energy sources: sorted, joined with '+'; '' (unknown) shows as 'unknown' beside others. */
export function sourceLabel(sources: Iterable<string>): string {
  const set = new Set(sources);
  if (set.size <= 1) return [...set][0] ?? '';
  return [...set].map((s) => s || 'unknown').sort().join('+');
}

/** Transfers a link-samples query returns at most (the newest), unless it names its own limit. */
export const LINK_SAMPLES_LIMIT = 10_000;

/** Mbit/s from bytes and ms: bits per ms are kbit/s, hence the 1000. */
export function bandwidthMbps(bytes: number, transferMs: number): number {
  return transferMs > 0 ? (bytes * 8) / transferMs / 1000 : 0;
}

/** Per-configuration stats over `requests` (already filtered to the window and to successes). */
export function configurationStatsOf(requests: Iterable<RequestMetric>): ConfigStats[] {
  const groups = new Map<string, RequestMetric[]>();
  for (const r of requests) {
    const group = groups.get(r.configuration);
    if (group) group.push(r);
    else groups.set(r.configuration, [r]);
  }
  return [...groups.keys()].sort().map((configuration) => configStatsOf(configuration, groups.get(configuration)!));
}

function configStatsOf(configuration: string, group: RequestMetric[]): ConfigStats {
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
    latencyP50Ms: influxPercentile(latencies, 50) ?? 0,
    latencyP95Ms: influxPercentile(latencies, 95) ?? 0,
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
  return { samples: rtts.length, bandwidthMbps: bandwidthMbps(bytes, transferMs), rttMs: influxPercentile(rtts, 50) ?? 0 };
}
