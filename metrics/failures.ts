/**
 * Which configurations fail: per configuration, how many of a window's requests failed (a coded
 * error) or fell back (the cloud part did not run: edge_fallback), and when the last failure and the
 * last clean success were. The live optimizer keeps a configuration out of its front while its last
 * failure is newer than its last success. The same definitions natively (embedded store) and in
 * InfluxQL (Influx store).
 */
import type { InfluxSeries } from './influx-query.ts';
import { literal, timeRange } from './influx-query.ts';
import type { ConfigFailures, RequestMetric, WindowQuery } from './metrics-store.ts';
import { REQUEST } from './schema.ts';


/** A request that did not run as configured: a coded error, or the edge ran the tail itself. */
export const failed = (r: Pick<RequestMetric, 'errorCode' | 'edgeFallback'>): boolean => r.errorCode !== '' || r.edgeFallback;

/** Configurations with at least one failure, sorted by name. Requests without a configuration (refused before one was chosen) are left out. */
export function configurationFailuresOf(requests: readonly RequestMetric[]): ConfigFailures[] {
  const byName = new Map<string, ConfigFailures>();
  for (const r of requests) {
    if (!r.configuration) continue;
    const entry = byName.get(r.configuration) ?? { configuration: r.configuration, failures: 0, lastFailureMs: 0, lastSuccessMs: 0 };
    const t = Math.floor(r.timeMs);
    if (failed(r)) {
      entry.failures++;
      entry.lastFailureMs = Math.max(entry.lastFailureMs, t);
    } else {
      entry.lastSuccessMs = Math.max(entry.lastSuccessMs, t);
    }
    byName.set(r.configuration, entry);
  }
  return [...byName.values()].filter((f) => f.failures > 0).sort((a, b) => (a.configuration < b.configuration ? -1 : 1));
}

/** Three statements: failures per configuration, the time of the newest failure, of the newest clean success. */
export function configurationFailuresQueries(q: WindowQuery): string[] {
  const where = [`"model" = ${literal(q.model)}`, timeRange(q.sinceMs, q.untilMs)];
  if (q.edgeClass !== undefined) where.push(`"edge_class" = ${literal(q.edgeClass)}`);
  const base = `FROM "${REQUEST}" WHERE ${where.join(' AND ')} AND "configuration" != ''`;
  const failing = `("error_code" != '' OR "edge_fallback" = 1)`;
  return [
    `SELECT COUNT("end_to_end_ms") AS "failures" ${base} AND ${failing} GROUP BY "configuration"`,
    // LAST is a selector: its row's time is the point's own.
    `SELECT LAST("end_to_end_ms") ${base} AND ${failing} GROUP BY "configuration"`,
    `SELECT LAST("end_to_end_ms") ${base} AND "error_code" = '' AND "edge_fallback" = 0 GROUP BY "configuration"`,
  ];
}

export function toConfigFailures(counts: InfluxSeries[], lastFailures: InfluxSeries[], lastSuccesses: InfluxSeries[]): ConfigFailures[] {
  const timeOf = (series: InfluxSeries[]) => new Map(series.map((s) => [s.tags?.configuration ?? '', Number(s.values[0]?.[s.columns.indexOf('time')] ?? 0)]));
  const failures = timeOf(lastFailures);
  const successes = timeOf(lastSuccesses);
  return counts
    .map((s) => {
      const configuration = s.tags?.configuration ?? '';
      return {
        configuration,
        failures: Number(s.values[0]?.[s.columns.indexOf('failures')] ?? 0),
        lastFailureMs: failures.get(configuration) ?? 0,
        lastSuccessMs: successes.get(configuration) ?? 0,
      };
    })
    .filter((f) => f.configuration !== '' && f.failures > 0)
    .sort((a, b) => (a.configuration < b.configuration ? -1 : 1));
}
