/**
 * The shipped Grafana dashboard (metrics/grafana/dynasplit-dashboard.json) against a real InfluxDB
 * 1.6.7: after writing a realistic set of points through the Influx store, every query of every panel
 * (and of the model variable) is run the way Grafana would send it and must return data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsStore } from '../../metrics/index.ts';
import { startInfluxDb, type RunningServer } from '../../local-servers/index.ts';
import { seededRandom } from '../helpers/random.ts';
import { seededLinks, seededRequests, uniqueName } from '../helpers/metrics-contract.ts';
import { dashboard, influxQuery, panels, substitute, targets, type Series } from '../helpers/grafana.ts';

const model = uniqueName('grafana');
let influx: RunningServer & { database: string };

async function run(query: string): Promise<Series[]> {
  const { series, error } = await influxQuery(influx.url, influx.database, query);
  expect(error, query).toBeUndefined();
  return series;
}

beforeAll(async () => {
  influx = await startInfluxDb();
  const store = createMetricsStore('influxdb', { url: influx.url, api: 'v1', database: influx.database });
  const start = Date.now() - 10 * 60_000; // the last 10 minutes, inside the 1 h range
  for (const r of seededRequests(seededRandom(42), model, 1_200, start, 10 * 60_000)) store.writeRequest(r);
  for (const l of seededLinks(seededRandom(43), ['edge-0', 'edge-1'], 200, start, 10 * 60_000)) store.writeLink(l);
  // The live optimizer's rounds, one every 10 s for two edge classes.
  for (let round = 1; round <= 60; round++) {
    for (const edgeClass of ['default', 'pi']) {
      store.writeOptimizer({
        timeMs: start + round * 10_000, optimizerId: 'optimizer-1', model, edgeClass, round, spaceSize: 120, frontSize: 5 + (round % 3),
        failing: round % 7 === 0 ? 1 : 0, refusals: round > 50 ? 1 : 0, disagreeing: 0, publishedVersion: 1_700_000_000 + round,
      });
    }
  }
  await store.close();
  expect(store.stats()).toMatchObject({ written: 1_520, dropped: 0 });
});
afterAll(async () => {
  await influx?.stop();
});

describe('grafana dashboard', () => {
  it('is a Grafana JSON model of InfluxQL panels on an influxdb data source', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(panels.map((p) => p.title)).toEqual(expect.arrayContaining([
      'Requests/s', 'End-to-end latency against budget', 'Budgets met', 'Energy per inference', 'Configuration mix', 'Tensor bytes', 'Worker load', 'Edge fallbacks', 'Optimizer',
    ]));
    for (const p of panels) {
      expect(p.datasource?.type, p.title).toBe('influxdb');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) {
        expect(t.rawQuery, `${p.title} ${t.refId}`).toBe(true);
        expect(t.query).toContain('$timeFilter');
        expect(t.query).toContain('GROUP BY time($__interval)');
      }
    }
  });

  it('lists the written model in its model variable', async () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'model')!;
    const values = (await run(variable.query)).flatMap((s) => s.values.map((row) => row[1]));
    expect(values).toContain(model);
  });

  it.each(targets)('$panel ($refId) returns rows with values', async ({ query }) => {
    const series = await run(substitute(query, model));
    const rows = series.flatMap((s) => s.values);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((row) => row.slice(1).some((v) => typeof v === 'number'))).toBe(true);
  });
});
