/** The shipped Grafana dashboard and a way to run its InfluxQL queries as Grafana would. */
import { readFileSync } from 'node:fs';

export interface Target { refId: string; query: string; rawQuery?: boolean; datasource?: { type: string } }
export interface Panel { id: number; title: string; type: string; datasource?: { type: string }; targets?: Target[]; panels?: Panel[] }
export interface Dashboard { schemaVersion: number; panels: Panel[]; templating: { list: { name: string; type: string; query: string }[] } }
export interface Series { values: unknown[][] }

export const dashboard = JSON.parse(readFileSync(new URL('../../metrics/grafana/dynasplit-dashboard.json', import.meta.url), 'utf8')) as Dashboard;
export const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
export const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));

/** What Grafana's InfluxQL data source puts in place of the macros (a 1 h range, 10 s interval). */
export function substitute(query: string, model: string): string {
  return query
    .replaceAll('$timeFilter', 'time > now() - 1h')
    .replaceAll('$__interval_ms', '10000') // before $__interval, its prefix
    .replaceAll('$__interval', '10s')
    .replaceAll('$model', model.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'));
}

/** Runs one InfluxQL query; returns its series, or the error InfluxDB reported. */
export async function influxQuery(url: string, database: string, query: string): Promise<{ series: Series[]; error?: string }> {
  const response = await fetch(`${url}/query?db=${database}&epoch=ms&q=${encodeURIComponent(query)}`);
  const body = (await response.json()) as { results: { series?: Series[]; error?: string }[]; error?: string };
  return { series: body.results[0]?.series ?? [], error: body.error ?? body.results[0]?.error };
}
