/** The shareable dashboard in deploy/ is the one in metrics/grafana, exported: it cannot drift. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exportDashboard, SOURCE, TARGET } from '../../../scripts/grafana-export.ts';

describe('grafana export', () => {
  it('deploy/grafana/dashboards/dynasplit.json is the export of metrics/grafana/dynasplit-dashboard.json (npx tsx scripts/grafana-export.ts)', () => {
    expect(readFileSync(TARGET, 'utf8')).toBe(exportDashboard(readFileSync(SOURCE, 'utf8')));
  });

  it('adds the data source input and the plugins, keeps every panel and query, and drops the id', () => {
    const source = JSON.parse(readFileSync(SOURCE, 'utf8')) as Record<string, unknown>;
    const exported = JSON.parse(exportDashboard(JSON.stringify({ ...source, id: 7 }))) as Record<string, unknown>;
    expect(exported.__inputs).toEqual([expect.objectContaining({ name: 'DS_INFLUXDB', type: 'datasource', pluginId: 'influxdb' })]);
    expect(exported.__requires).toContainEqual(expect.objectContaining({ type: 'datasource', id: 'influxdb' }));
    expect(exported.id).toBeNull();
    expect(exported.panels).toEqual(source.panels);
    expect(exported.templating).toEqual(source.templating);
  });
});
