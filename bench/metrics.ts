/**
 * Metrics stores: what writeRequest costs on the request path, next to baselines measured in the same
 * run, and how many points per second reach each store (write N, then flush). The Influx store
 * writes to a real InfluxDB 1.6.7 started from its Debian binary when one can be started; otherwise
 * to an unreachable URL, which measures the buffering (and, past the bound, dropping) path. Every
 * figure is measured on this machine.
 */
import { createMetricsStore, type MetricsStore, type RequestMetric } from '../metrics/index.ts';
import { startInfluxDb, type RunningServer } from '../local-servers/index.ts';
import { printTable } from './harness.ts';

const CALLS = 100_000;
/** Calls per timed batch: one call is too short for the timer; 1,000 batches give the median. */
const BATCH = 100;
const THROUGHPUT_POINTS = 100_000;

function sampleRequests(count: number): RequestMetric[] {
  const now = Date.now() - 60_000;
  return Array.from({ length: count }, (_, i) => ({
    timeMs: now + (i % 60_000), model: 'vgg16', configuration: ['edge-only', 'split:pool3@fp16', 'cloud-only'][i % 3]!, cut: 'features.pool3',
    codec: 'fp16', edgeId: `edge-${i % 4}`, edgeClass: 'rpi4', workerId: `worker-${i % 2}`, sensorId: 'cam-1', errorCode: '',
    latencySource: 'measured', energySource: 'modelled', endToEndMs: 80 + (i % 50), edgeComputeMs: 40.5, encodeMs: 1.25, transferMs: 12.5,
    cloudQueueMs: 0.5, cloudComputeMs: 20.25, budgetMs: 150, budgetMet: true, edgeFallback: false, tensorBytes: 401_408,
    energyJ: 1.75, edgeEnergyJ: 1.25, cloudEnergyJ: 0.5, frequencyMhz: 1_800, threads: 4, accelerator: 'cpu', cloudMode: 'cpu',
  }));
}

/** Median µs per call over CALLS calls, yielding to the event loop between batches as a server would. */
async function perCallMicros(call: (m: RequestMetric) => void, points: RequestMetric[]): Promise<number> {
  const perCall: number[] = [];
  for (let b = 0; b < CALLS / BATCH; b++) {
    const t0 = performance.now();
    for (let i = 0; i < BATCH; i++) call(points[(b * BATCH + i) % points.length]!);
    perCall.push(((performance.now() - t0) * 1_000) / BATCH);
    await new Promise((resolve) => setImmediate(resolve));
  }
  perCall.sort((a, b) => a - b);
  return perCall[perCall.length >> 1]!;
}

async function throughput(store: MetricsStore, points: RequestMetric[]): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < THROUGHPUT_POINTS; i++) store.writeRequest(points[i % points.length]!);
  await store.flush();
  return THROUGHPUT_POINTS / ((performance.now() - t0) / 1_000);
}

async function tryInflux(): Promise<RunningServer & { database: string } | undefined> {
  try {
    return await startInfluxDb({ database: 'bench' });
  } catch {
    return undefined;
  }
}

export async function benchMetrics(): Promise<void> {
  const points = sampleRequests(10_000);
  const server = await tryInflux();
  const target = server ? `InfluxDB 1.6.7 at ${server.url} (real server)` : 'unreachable URL (buffering path; past 50,000 points, dropping)';
  const influx = (options = {}) => createMetricsStore('influxdb', server
    ? { url: server.url, api: 'v1', database: server.database, ...options }
    : { url: 'http://127.0.0.1:9', api: 'v1', database: 'none', closeTimeoutMs: 100, ...options });
  try {
    const sink: RequestMetric[] = [];
    const noop = (_m: RequestMetric): void => {};
    const embedded = createMetricsStore('embedded');
    // Bound above CALLS: the burst outruns any server, and every call should take the buffering path, not the drop path.
    const hot = influx({ maxBufferedPoints: 2 * CALLS });
    const rows: (string | number)[][] = [
      ['baseline: empty function call', (await perCallMicros(noop, points)).toFixed(3)],
      ['baseline: array.push(metric)', (await perCallMicros((m) => sink.push(m), points)).toFixed(3)],
      ['embedded writeRequest', (await perCallMicros((m) => embedded.writeRequest(m), points)).toFixed(3)],
      [`influxdb writeRequest -> ${target}`, (await perCallMicros((m) => hot.writeRequest(m), points)).toFixed(3)],
    ];
    printTable(`metrics: writeRequest cost per call, median of ${CALLS / BATCH} batches of ${BATCH} (measured)`, ['store', 'µs/call'], rows);
    const hotStats = hot.stats();
    await hot.close();
    console.log(`influxdb store after the hot-path run: ${JSON.stringify({ ...hotStats, afterClose: hot.stats() })}`);

    const through: (string | number)[][] = [['embedded', Math.round(await throughput(createMetricsStore('embedded'), points))]];
    if (server) {
      for (const batchSize of [500, 5_000, 500]) {
        const store = influx({ batchSize });
        through.push([`influxdb v1, batchSize ${batchSize} -> ${target}`, Math.round(await throughput(store, points))]);
        await store.close();
      }
    } else {
      through.push(['influxdb', 'n/a: no server could be started']);
    }
    printTable(`metrics: write ${THROUGHPUT_POINTS.toLocaleString('en')} points, then flush() (measured)`, ['store', 'points/s'], through);
  } finally {
    await server?.stop();
  }
}
