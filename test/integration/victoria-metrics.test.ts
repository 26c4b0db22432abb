/**
 * The Influx store's v2 mode (the official client's write API, POST /api/v2/write) against a real
 * VictoriaMetrics, which accepts InfluxDB line protocol and ignores org, bucket and token. Read back
 * through VM's export API: every field of every point arrives, under `<measurement>_<field>`, with
 * the point's tags as labels and its ms timestamp.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMetricsStore, REQUEST_FLOAT_FIELDS, REQUEST_INT_FIELDS, REQUEST_TAGS, type RequestMetric } from '../../metrics/index.ts';
import { startVictoriaMetrics, type RunningServer } from '../../local-servers/index.ts';
import { seededRandom } from '../helpers/random.ts';
import { seededLinks, seededRequests, uniqueName } from '../helpers/metrics-contract.ts';

let vm: RunningServer;

beforeAll(async () => {
  vm = await startVictoriaMetrics();
});
afterAll(async () => {
  await vm?.stop();
});

interface Exported {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

/** `/api/v1/export` answers one JSON object per series and line. */
async function exportSeries(match: string): Promise<Exported[]> {
  await fetch(`${vm.url}/internal/force_flush`); // makes just-ingested rows searchable now, not within seconds
  const response = await fetch(`${vm.url}/api/v1/export?match[]=${encodeURIComponent(match)}`);
  expect(response.status).toBe(200);
  return (await response.text()).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Exported);
}

/** `name@timestamp` -> the sample and its labels (timestamps are unique per point here). */
function samples(series: Exported[]): Map<string, { value: number; labels: Record<string, string> }> {
  const out = new Map<string, { value: number; labels: Record<string, string> }>();
  for (const s of series) {
    const { __name__: name, ...labels } = s.metric;
    s.timestamps.forEach((t, i) => out.set(`${name}@${t}`, { value: s.values[i]!, labels }));
  }
  return out;
}

/** VM stores a float as a decimal with ~12 significant digits (3.7983955442905426 comes back 3.79839554429). */
function expectNear(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.abs(expected) * 1e-11);
}

function expectedLabels(r: RequestMetric): Record<string, string> {
  return Object.fromEntries(Object.entries(REQUEST_TAGS).map(([key, tag]) => [tag, r[key as keyof RequestMetric] as string]).filter(([, v]) => v !== ''));
}

it('receives every request and link point with its tags and fields through the v2 write API', async () => {
  const store = createMetricsStore('influxdb', { url: vm.url, api: 'v2', token: 'ignored', org: 'ignored', bucket: 'ignored', batchSize: 50 });
  const model = uniqueName('vm');
  const edge = uniqueName('edge');
  const base = Date.now() - 10 * 60_000;
  const requests = seededRequests(seededRandom(7), model, 120, base);
  const links = seededLinks(seededRandom(8), [edge], 30, base);
  for (const r of requests) store.writeRequest(r);
  for (const l of links) store.writeLink(l);
  await store.close();
  expect(store.stats()).toEqual({ written: 150, dropped: 0, buffered: 0, writeFailures: 0 });

  const got = samples(await exportSeries(`{__name__=~"request_.*",model="${model}"}`));
  const fields = { ...REQUEST_FLOAT_FIELDS, ...REQUEST_INT_FIELDS };
  let checked = 0;
  for (const r of requests) {
    for (const [key, field] of Object.entries(fields)) {
      const value = r[key as keyof RequestMetric];
      if (value === undefined) continue; // top1_agreement only on sampled requests
      const sample = got.get(`request_${field}@${r.timeMs}`);
      expect(sample, `request_${field} at ${r.timeMs}`).toBeDefined();
      expectNear(sample!.value, Number(value)); // booleans are 0/1 integers
      expect(sample!.labels).toEqual(expectedLabels(r));
      checked++;
    }
  }
  expect(got.size).toBe(checked); // and nothing else

  const linkSamples = samples(await exportSeries(`{__name__=~"link_.*",edge_id="${edge}"}`));
  for (const l of links) {
    expect(linkSamples.get(`link_bytes@${l.timeMs}`)?.value).toBe(l.bytes);
    expectNear(linkSamples.get(`link_transfer_ms@${l.timeMs}`)!.value, l.transferMs);
    expect(linkSamples.get(`link_rtt_ms@${l.timeMs}`)?.value).toBe(l.rttMs);
  }

  // Through VM's Influx ingestion (1.79 counts /write and /api/v2/write, which the client posts to, as one path).
  const metrics = await (await fetch(`${vm.url}/metrics`)).text();
  expect(metrics).toMatch(/vm_http_requests_total\{path="\/influx\/write"[^}]*\} [1-9]/);
});
