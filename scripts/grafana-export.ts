/**
 * Writes deploy/grafana/dashboards/dynasplit.json from metrics/grafana/dynasplit-dashboard.json: the
 * same dashboard with the `__inputs` and `__requires` of Grafana's "export for sharing externally", so
 * it can be imported by hand (Grafana asks which InfluxDB data source DS_INFLUXDB is) as well as
 * provisioned from files (deploy/grafana/provisioning). `--check` fails when the file is stale
 * (test/unit/scripts/grafana-export.test.ts runs the same comparison).
 *
 *   npx tsx scripts/grafana-export.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
export const SOURCE = join(ROOT, 'metrics', 'grafana', 'dynasplit-dashboard.json');
export const TARGET = join(ROOT, 'deploy', 'grafana', 'dashboards', 'dynasplit.json');

/** The input Grafana asks for on import, and the plugins the dashboard needs (Grafana's export format). */
const INPUTS = [{ name: 'DS_INFLUXDB', label: 'InfluxDB', description: 'the InfluxDB data source the dynasplit metrics are in', type: 'datasource', pluginId: 'influxdb', pluginName: 'InfluxDB' }];

interface Dashboard { panels?: { type?: string; panels?: { type?: string }[] }[]; id?: number | null; [key: string]: unknown }

/**
 * The export of `source` (its JSON text). Panels reach their data source through the `datasource`
 * variable, which takes the DS_INFLUXDB input on import and the default InfluxDB data source when
 * provisioned, so nothing else changes; `id` is dropped (Grafana assigns one).
 */
export function exportDashboard(source: string): string {
  const dashboard = JSON.parse(source) as Dashboard;
  const panelTypes = [...new Set((dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]).map((p) => p.type).filter((t): t is string => !!t && t !== 'row'))].sort();
  const requires = [
    { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.0.0' },
    { type: 'datasource', id: 'influxdb', name: 'InfluxDB', version: '1.0.0' },
    ...panelTypes.map((id) => ({ type: 'panel', id, name: id, version: '' })),
  ];
  const { id: _id, ...rest } = dashboard;
  return `${JSON.stringify({ __inputs: INPUTS, __requires: requires, ...rest, id: null }, null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const wanted = exportDashboard(readFileSync(SOURCE, 'utf8'));
  if (process.argv.includes('--check')) {
    const stale = readFileSync(TARGET, 'utf8') !== wanted;
    if (stale) process.stderr.write(`${TARGET} is stale: run npx tsx scripts/grafana-export.ts\n`);
    process.exitCode = stale ? 1 : 0;
  } else {
    writeFileSync(TARGET, wanted);
  }
}
