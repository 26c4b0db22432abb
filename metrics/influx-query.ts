/**
 * The read side of the Influx store: InfluxQL over GET /query, the one query language InfluxDB 1.x,
 * 2.x (v1-compatible API) and 3.x all serve (Flux is not served by 3.x). The queries compute what
 * stats.ts computes for the embedded store: PERCENTILE is the same nearest-rank definition, MEAN of a
 * 0/1 field is a rate.
 */
import { DynasplitError, ErrorCodes, messageWithCauses } from '../common/index.ts';
import type { ResolvedInfluxOptions } from './influx-options.ts';
import { storeProblem } from './influx-setup.ts';
import type { ConfigStats, LinkQuery, LinkSample, LinkSamplesQuery, LinkStats, WindowQuery } from './metrics-store.ts';
import { LINK, REQUEST } from './schema.ts';
import { bandwidthMbps, LINK_SAMPLES_LIMIT, sourceLabel } from './stats.ts';

/** One series of an InfluxQL result (InfluxDB HTTP API, /query JSON). */
export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

interface QueryResponse {
  results?: { statement_id?: number; series?: InfluxSeries[]; error?: string }[];
  error?: string;
}

/** A string literal for InfluxQL: single quotes, with backslash and quote escaped. */
export function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `time >= since AND time < until` in whole ms (InfluxQL duration literals on epoch time). */
export function timeRange(sinceMs: number, untilMs: number | undefined): string {
  const since = `time >= ${Math.floor(sinceMs)}ms`;
  return untilMs === undefined ? since : `${since} AND time < ${Math.floor(untilMs)}ms`;
}

export function configurationStatsQueries(q: WindowQuery): string[] {
  const where = [`"model" = ${literal(q.model)}`, `"error_code" = ''`, timeRange(q.sinceMs, q.untilMs)];
  if (q.edgeClass !== undefined) where.push(`"edge_class" = ${literal(q.edgeClass)}`);
  const from = `FROM "${REQUEST}" WHERE ${where.join(' AND ')}`;
  return [
    `SELECT COUNT("end_to_end_ms") AS "count", PERCENTILE("end_to_end_ms", 50) AS "p50", PERCENTILE("end_to_end_ms", 95) AS "p95", `
      + `MEAN("energy_j") AS "energy", MEAN("budget_met") AS "met", MEAN("top1_agreement") AS "agreement" ${from} GROUP BY "configuration"`,
    `SELECT COUNT("end_to_end_ms") AS "count" ${from} GROUP BY "configuration", "energy_source"`,
  ];
}

export function linkStatsQuery(q: LinkQuery): string {
  const where = [timeRange(q.sinceMs, q.untilMs)];
  if (q.edgeId !== undefined) where.push(`"edge_id" = ${literal(q.edgeId)}`);
  return `SELECT COUNT("rtt_ms") AS "count", SUM("bytes") AS "bytes", SUM("transfer_ms") AS "transfer", PERCENTILE("rtt_ms", 50) AS "rtt" `
    + `FROM "${LINK}" WHERE ${where.join(' AND ')}`;
}

/** The newest `limit` transfers of the window (bytes and ms each): the link fit's input. */
export function linkSamplesQuery(q: LinkSamplesQuery): string {
  const where = [timeRange(q.sinceMs, q.untilMs)];
  if (q.edgeId !== undefined) where.push(`"edge_id" = ${literal(q.edgeId)}`);
  const limit = Math.max(1, Math.floor(q.limit ?? LINK_SAMPLES_LIMIT));
  return `SELECT "bytes", "transfer_ms" FROM "${LINK}" WHERE ${where.join(' AND ')} ORDER BY time DESC LIMIT ${limit}`;
}

/** The first row of a series as an object keyed by column. */
function row(series: InfluxSeries): Record<string, unknown> {
  return Object.fromEntries(series.columns.map((c, i) => [c, series.values[0]?.[i]]));
}

const num = (value: unknown): number => (typeof value === 'number' ? value : 0);

export function toConfigStats(main: InfluxSeries[], sources: InfluxSeries[]): ConfigStats[] {
  const sourcesOf = new Map<string, string[]>();
  for (const s of sources) {
    const configuration = s.tags?.configuration ?? '';
    sourcesOf.set(configuration, [...(sourcesOf.get(configuration) ?? []), s.tags?.energy_source ?? '']);
  }
  const stats = main.map((series): ConfigStats => {
    const r = row(series);
    const configuration = series.tags?.configuration ?? '';
    const out: ConfigStats = {
      configuration,
      count: num(r.count),
      latencyP50Ms: num(r.p50),
      latencyP95Ms: num(r.p95),
      meanEnergyJ: num(r.energy),
      budgetMetRate: num(r.met),
      energySource: sourceLabel(sourcesOf.get(configuration) ?? []),
    };
    if (typeof r.agreement === 'number') out.agreement = r.agreement;
    return out;
  });
  return stats.filter((s) => s.count > 0).sort((a, b) => (a.configuration < b.configuration ? -1 : a.configuration > b.configuration ? 1 : 0));
}

export function toLinkStats(series: InfluxSeries[]): LinkStats {
  if (series.length === 0) return { samples: 0, bandwidthMbps: 0, rttMs: 0 };
  const r = row(series[0]!);
  return { samples: num(r.count), bandwidthMbps: bandwidthMbps(num(r.bytes), num(r.transfer)), rttMs: num(r.rtt) };
}

/** Rows of the samples query (newest first) as samples, oldest first; a row missing a field is skipped. */
export function toLinkSamples(series: InfluxSeries[]): LinkSample[] {
  const out: LinkSample[] = [];
  for (const s of series) {
    const [time, bytes, ms] = ['time', 'bytes', 'transfer_ms'].map((c) => s.columns.indexOf(c));
    for (const v of s.values) {
      const sample = { timeMs: v[time!], bytes: v[bytes!], transferMs: v[ms!] };
      if (typeof sample.timeMs === 'number' && typeof sample.bytes === 'number' && typeof sample.transferMs === 'number') out.push(sample as LinkSample);
    }
  }
  // Newest first from the server: reversed, then a stable sort keeps same-ms transfers in written order.
  return out.reverse().sort((a, b) => a.timeMs - b.timeMs);
}

/** Runs InfluxQL statements (joined with ';') and returns each statement's series. */
export async function runQueries(options: ResolvedInfluxOptions, statements: string[]): Promise<InfluxSeries[][]> {
  const url = new URL('/query', options.url);
  url.searchParams.set('db', options.queryDatabase);
  url.searchParams.set('epoch', 'ms');
  url.searchParams.set('q', statements.join(';\n'));
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token) headers.authorization = `Token ${options.token}`;
  else if (options.username) {
    url.searchParams.set('u', options.username);
    url.searchParams.set('p', options.password ?? '');
  }
  let body: QueryResponse;
  let status: number;
  let text: string;
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(options.requestTimeoutMs) });
    status = response.status;
    text = await response.text();
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.TRANSPORT, `InfluxDB query failed: ${messageWithCauses(cause)}`, { cause, retryable: true, details: { url: options.url } });
  }
  try {
    body = (text ? JSON.parse(text) : {}) as QueryResponse;
  } catch {
    body = { error: text.slice(0, 200) };
  }
  // Credentials, rights or a missing database: asking again will not help, and the fix is named.
  const problem = storeProblem(options, status, body.error ?? text, 'read');
  if (problem) throw problem;
  if (status < 200 || status >= 300) {
    throw new DynasplitError(ErrorCodes.TRANSPORT, `InfluxDB query failed: ${status} ${body.error ?? text.slice(0, 200)}`, { retryable: true, details: { url: options.url, status } });
  }
  const results = body.results ?? [];
  const failed = results.find((r) => r.error) ?? (body.error ? { error: body.error } : undefined);
  if (failed && /database not found/.test(failed.error ?? '')) throw storeProblem(options, 404, failed.error!, 'read')!;
  if (failed) throw new DynasplitError(ErrorCodes.TRANSPORT, `InfluxQL error: ${failed.error}`, { details: { statements } });
  return statements.map((_, i) => results.find((r) => (r.statement_id ?? 0) === i)?.series ?? []);
}
