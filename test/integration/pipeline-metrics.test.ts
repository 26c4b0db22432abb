/**
 * The pipeline writing its metrics to a real InfluxDB (Debian 1.6.7, v1 API): every Grafana panel
 * returns rows for what a run wrote; the optimizer's queries give the same figures on InfluxDB as on
 * the embedded store fed the same points; and a database outage mid-run costs no request, counts
 * its drops and resumes writing when the database returns.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import { createMetricsStore, type MetricsStore } from '../../metrics/index.ts';
import { startOptimizer } from '../../optimizer/index.ts';
import { runSensor } from '../../sensor/index.ts';
import { influxQuery, substitute, targets } from '../helpers/grafana.ts';
import { frame, inputs, resultSink } from '../helpers/pipeline.ts';
import { startInfluxDb, type RunningServer } from '../../local-servers/index.ts';

const zoo = inject('zooDir');
const MODEL = 'vgg16-tiny';
let influx: RunningServer & { database: string };
let broker: BrokerHandle;
let cloud: CloudWorker;
let edge: EdgeNode;
let influxStore: MetricsStore;
const embedded = createMetricsStore('embedded');

/** Request points written so far: a sampled request's point comes after its answer (its agreement check runs in the background). */
let requestPoints = 0;

/** Every point goes to both stores, so their answers can be compared. */
function tee(a: MetricsStore, b: MetricsStore): MetricsStore {
  return {
    kind: a.kind,
    writeRequest: (m) => { requestPoints++; a.writeRequest(m); b.writeRequest(m); },
    writeLink: (m) => { a.writeLink(m); b.writeLink(m); },
    flush: async () => { await Promise.all([a.flush(), b.flush()]); },
    configurationStats: (q) => a.configurationStats(q),
    linkStats: (q) => a.linkStats(q),
    linkSamples: (q) => a.linkSamples(q),
    writeOptimizer: (m) => { a.writeOptimizer(m); b.writeOptimizer(m); },
    configurationFailures: (q) => a.configurationFailures(q),
    ready: async () => { await Promise.all([a.ready(), b.ready()]); },
    stats: () => a.stats(),
    close: async () => { await Promise.all([a.close(), b.close()]); },
  };
}

const sensor = (sensorId: string, count: number) => runSensor({
  sensorId, mqttUrl: broker.url, model: MODEL, modelSource: join(zoo, `${MODEL}.onnx`), count, rate: 200, budgets: 'uniform:20:200',
});

let store: MetricsStore;

beforeAll(async () => {
  influx = await startInfluxDb();
  influxStore = createMetricsStore('influxdb', { url: influx.url, api: 'v1', database: influx.database, flushIntervalMs: 200, batchSize: 100, maxBufferedPoints: 300 });
  store = tee(influxStore, embedded);
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  const models = { [MODEL]: join(zoo, `${MODEL}.onnx`) };
  cloud = await startCloudWorker({ workerId: 'metrics-cloud', mqttUrl: broker.url, models, profile: 'gpu-server' });
  edge = await startEdgeNode({ edgeId: 'metrics-edge', mqttUrl: broker.url, models, profile: 'rpi4', agreementSampleRate: 0.5 },
    { metrics: store });
});

afterAll(async () => {
  await edge?.close();
  await cloud?.close();
  await broker?.close();
  await influxStore?.close();
  await influx?.stop();
});

describe('pipeline metrics in InfluxDB', () => {
  it('a run writes one point per request with emulated latency and modelled energy; every Grafana panel returns rows', async () => {
    const summary = await sensor('metrics-sensor', 60);
    expect(summary).toMatchObject({ requests: 60, unanswered: 0 });
    expect(summary.energy?.source).toBe('modelled');
    // And one answered with an error (its budget ran out before it arrived), for the error panels.
    const sink = await resultSink(broker.url, ['metrics-late']);
    const [x] = inputs([1, 3, 32, 32], 1);
    await sink.publishFrame('metrics-late', { ...frame('late-1', 'metrics-late', MODEL, [1, 3, 32, 32], x, 50), capture_at_ms: Date.now() - 1_000 });
    await sink.waitFor(1);
    await sink.close();
    expect(sink.all[0].error?.code).toBe('DYNASPLIT_ERR_EXPIRED');
    await vi.waitFor(() => expect(requestPoints).toBe(61), { timeout: 10_000, interval: 10 });
    // The live optimizer's rounds over what the nodes announced, for the optimizer panel.
    const optimizer = await startOptimizer({ mqttUrl: broker.url, models: { [MODEL]: join(zoo, `${MODEL}.onnx`) }, intervalMs: 600_000 }, { metrics: store });
    try {
      await vi.waitFor(async () => {
        await optimizer.round();
        expect(optimizer.status().waiting ?? '').toBe('');
      }, { timeout: 20_000, interval: 100 });
    } finally {
      await optimizer.close();
    }
    await influxStore.flush();
    const { series } = await influxQuery(influx.url, influx.database, `SELECT COUNT("end_to_end_ms") FROM "request" WHERE "model" = '${MODEL}'`);
    expect(series[0].values[0][1]).toBe(61);
    const sources = await influxQuery(influx.url, influx.database, `SHOW TAG VALUES FROM "request" WITH KEY IN ("latency_source", "energy_source")`);
    expect(sources.series[0].values.map((v) => v[1]).sort()).toEqual(['emulated', 'modelled']);
    for (const { panel, refId, query } of targets) {
      const { series: rows, error } = await influxQuery(influx.url, influx.database, substitute(query, MODEL));
      expect(error, `${panel} ${refId}`).toBeUndefined();
      expect(rows.flatMap((s) => s.values).length, `${panel} ${refId}`).toBeGreaterThan(0);
    }
  });

  it('the optimizer queries give the same figures on InfluxDB as on the embedded store', async () => {
    // Sampled agreement checks finish in the background: every request's point is written first.
    await vi.waitFor(() => expect(requestPoints).toBe(61), { timeout: 10_000, interval: 10 });
    await influxStore.flush();
    const window = { model: MODEL, sinceMs: Date.now() - 3_600_000 };
    const [fromInflux, fromEmbedded] = await Promise.all([influxStore.configurationStats(window), embedded.configurationStats(window)]);
    expect(fromInflux.length).toBe(3);
    expect(fromInflux.map((c) => [c.configuration, c.count, c.latencyP50Ms, c.latencyP95Ms])).toEqual(
      fromEmbedded.map((c) => [c.configuration, c.count, c.latencyP50Ms, c.latencyP95Ms]));
    fromInflux.forEach((c, i) => expect(c.meanEnergyJ).toBeCloseTo(fromEmbedded[i].meanEnergyJ, 9));
    const links = await Promise.all([influxStore.linkStats({ sinceMs: window.sinceMs }), embedded.linkStats({ sinceMs: window.sinceMs })]);
    expect(links[0].samples).toBe(links[1].samples);
    expect(links[0].bandwidthMbps).toBeCloseTo(links[1].bandwidthMbps, 6);
  });

  it('the database stopped mid-run and restarted: every request answered, drops counted, writes resume', async () => {
    const port = Number(new URL(influx.url).port);
    const dir = influx.dir;
    influx.kill9();
    const summary = await sensor('outage-sensor', 400);
    expect(summary).toMatchObject({ requests: 400, unanswered: 0 });
    const during = influxStore.stats();
    expect(during.dropped).toBeGreaterThan(0);
    expect(during.buffered).toBeGreaterThan(0);
    influx = await startInfluxDb({ port, dir, database: influx.database });
    await influxStore.flush();
    const after = influxStore.stats();
    expect(after.buffered).toBe(0);
    // Every request point the store did not drop arrived: the newest ones, kept through the outage.
    const { series } = await influxQuery(influx.url, influx.database, `SELECT COUNT("end_to_end_ms") FROM "request" WHERE "sensor_id" = 'outage-sensor'`);
    const arrived = series[0].values[0][1] as number;
    expect(arrived).toBeGreaterThan(0);
    expect(arrived).toBeLessThan(400);
    expect(after.written).toBe(during.written + during.buffered);
  });
});
