/**
 * The Influx store against a real InfluxDB 1.6.7 (Debian) in v1 mode: the MetricsStore contract, then
 * an outage (server killed mid-run, restarted on its port and data dir) and a rejected write.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { ErrorCodes, rootLogger } from '../../common/index.ts';
import { createMetricsStore, type InfluxStoreOptions, type MetricsStore } from '../../metrics/index.ts';
import { startInfluxDb, type RunningServer } from '../../local-servers/index.ts';
import { seededRandom } from '../helpers/random.ts';
import { describeMetricsStoreContract, requestMetric, seededRequests, uniqueName } from '../helpers/metrics-contract.ts';

type Influx = RunningServer & { database: string };
let influx: Influx;

beforeAll(async () => {
  influx = await startInfluxDb();
});
afterAll(async () => {
  await influx?.stop();
});

function store(server: Influx, options: Partial<InfluxStoreOptions> = {}): MetricsStore {
  const s = createMetricsStore('influxdb', { url: server.url, api: 'v1', database: server.database, ...options });
  onTestFinished(() => s.close());
  return s;
}

/** COUNT of end_to_end_ms for `model` in [sinceMs, untilMs), straight from the server. */
async function countRequests(server: Influx, model: string, sinceMs = 0, untilMs = Date.now() + 3_600_000): Promise<number> {
  const q = `SELECT COUNT("end_to_end_ms") FROM "request" WHERE "model" = '${model}' AND time >= ${sinceMs}ms AND time < ${untilMs}ms`;
  const response = await fetch(`${server.url}/query?db=${server.database}&q=${encodeURIComponent(q)}`);
  const body = (await response.json()) as { results: { series?: { values: [unknown, number][] }[] }[] };
  return body.results[0]?.series?.[0]?.values[0]?.[1] ?? 0;
}

const answers = (url: string) => fetch(`${url}/ping`).then(() => true, () => false);

describeMetricsStoreContract('influxdb 1.6.7 (v1 write, InfluxQL)', async () =>
  createMetricsStore('influxdb', { url: influx.url, api: 'v1', database: influx.database }));

describe('influx metrics store', () => {
  it('buffers through an outage, drops beyond its bound, and gets the rest in after a restart', async () => {
    let server = await startInfluxDb({ database: 'outage' });
    onTestFinished(() => server.stop());
    const lines: string[] = [];
    const logger = rootLogger('info', { write: (line) => { lines.push(line); } });
    const s = store(server, { batchSize: 100, flushIntervalMs: 50, maxBufferedPoints: 2_000, maxRetryDelayMs: 200, logger });
    const model = uniqueName('m');
    const base = Date.now() - 20 * 60_000;
    const before = seededRequests(seededRandom(10), model, 500, base, 10_000);
    for (const r of before) s.writeRequest(r);
    await s.flush();
    expect(await countRequests(server, model)).toBe(500);

    server.kill9();
    await vi.waitFor(async () => expect(await answers(server.url), 'the server to die').toBe(false), { timeout: 20_000, interval: 20 });
    const during = seededRequests(seededRandom(11), model, 3_000, base + 10_000, 50_000);
    for (const r of during) s.writeRequest(r);
    // Every point is held or dropped by the time writeRequest returns (no await in between): a
    // ring-buffer push, never a wait on the network.
    const taken = s.stats();
    expect(taken.buffered + taken.dropped).toBe(during.length);
    await vi.waitFor(() => expect(s.stats().writeFailures, 'failed write attempts').toBeGreaterThanOrEqual(2), { timeout: 20_000, interval: 20 });
    expect(s.stats()).toMatchObject({ written: 500, dropped: 1_000, buffered: 2_000 });
    // The store out of reach is said once, coded and naming the server, without a stack.
    const warned = lines.map((l) => JSON.parse(l) as { msg: string; err?: Record<string, unknown> }).filter((l) => l.msg === 'metrics write failed; buffering and retrying');
    expect(warned).toHaveLength(1);
    expect(warned[0].err).toMatchObject({ code: ErrorCodes.TRANSPORT, message: expect.stringContaining(`InfluxDB at ${server.url} cannot be reached: fetch failed`) });
    expect(warned[0].err).not.toHaveProperty('stack');

    const port = server.port;
    const dir = server.dir;
    server = await startInfluxDb({ port, dir, database: 'outage' });
    await vi.waitFor(() => expect(s.stats().buffered, 'the backoff retries to empty the buffer').toBe(0), { timeout: 20_000, interval: 20 }); // no flush() needed
    await s.flush();
    expect(s.stats()).toMatchObject({ written: 2_500, dropped: 1_000, buffered: 0 });
    expect(await countRequests(server, model)).toBe(2_500);
    // The oldest were dropped: the newest 2,000 of the outage are in.
    expect(await countRequests(server, model, during[1_000]!.timeMs)).toBe(2_000);

    s.writeRequest(requestMetric({ model, timeMs: base + 70_000 }));
    await s.flush();
    expect(await countRequests(server, model)).toBe(2_501);
  });

  it('close() gives up after closeTimeoutMs while the server is away, counting what it could not send', async () => {
    const s = createMetricsStore('influxdb', { url: 'http://127.0.0.1:9', api: 'v1', database: 'x', closeTimeoutMs: 300, maxRetryDelayMs: 50 });
    for (let i = 0; i < 10; i++) s.writeRequest(requestMetric({ timeMs: 1_000 + i }));
    await s.close();
    expect(s.stats()).toMatchObject({ written: 0, dropped: 10, buffered: 0 });
    expect(s.stats().writeFailures).toBeGreaterThan(0);
    s.writeRequest(requestMetric()); // after close: counted, not thrown
    expect(s.stats().dropped).toBe(11);
  });

  it('reports a query the server cannot answer as a coded TRANSPORT error', async () => {
    const s = store(influx, { url: 'http://127.0.0.1:9' });
    await expect(s.configurationStats({ model: 'm', sinceMs: 0 })).rejects.toMatchObject({ code: ErrorCodes.TRANSPORT });
    await expect(s.linkStats({ sinceMs: 0 })).rejects.toMatchObject({ code: ErrorCodes.TRANSPORT });
  });
});
