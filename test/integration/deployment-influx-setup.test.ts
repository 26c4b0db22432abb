/**
 * The metrics store sets itself up or says exactly what to do, against a real InfluxDB 1.6.7 (with
 * and without authentication) and VictoriaMetrics (v2 write API): a missing database is created and
 * the log says so; without the right to create it, ready() rejects with one DYNASPLIT_ERR_METRICS_STORE
 * naming `CREATE DATABASE`; refused credentials likewise; a database dropped while running is one
 * error line, not one per batch.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { ErrorCodes, type Logger } from '../../common/index.ts';
import { createMetricsStore, type InfluxStoreOptions, type MetricsStore } from '../../metrics/index.ts';
import { requestMetric, uniqueName } from '../helpers/metrics-contract.ts';
import { spawnDynasplit } from '../../local-servers/index.ts';
import { INFLUX_ADMIN, startInfluxDb, startVictoriaMetrics, type RunningServer } from '../../local-servers/index.ts';

type Influx = RunningServer & { database: string };
let open: Influx;
let secured: Influx;

beforeAll(async () => {
  [open, secured] = await Promise.all([startInfluxDb(), startInfluxDb({ auth: true })]);
});
afterAll(async () => {
  await Promise.all([open?.stop(), secured?.stop()]);
});

function logged(): { lines: Record<string, unknown>[]; logger: Logger } {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }) };
}

function store(server: RunningServer, options: Partial<InfluxStoreOptions>): MetricsStore {
  const s = createMetricsStore('influxdb', { url: server.url, api: 'v1', database: 'dynasplit', batchSize: 5, flushIntervalMs: 20, ...options });
  onTestFinished(() => s.close());
  return s;
}

async function influxQl(server: RunningServer, q: string, auth = false): Promise<string> {
  const params = new URLSearchParams({ q, ...(auth ? { u: INFLUX_ADMIN.username, p: INFLUX_ADMIN.password } : {}) });
  return (await fetch(`${server.url}/query?${params}`, { method: 'POST' })).text();
}

describe('InfluxDB 1.x set-up', () => {
  it('creates a missing database at start, says so, and writes into it', async () => {
    const database = uniqueName('created');
    const { lines, logger } = logged();
    const s = store(open, { database, logger });
    await s.ready();
    expect(lines.filter((l) => l.msg === 'metrics database did not exist; created it')).toEqual([expect.objectContaining({ database })]);
    expect(await influxQl(open, 'SHOW DATABASES')).toContain(database);
    s.writeRequest(requestMetric({ model: 'm' }));
    await s.flush();
    expect(s.stats()).toMatchObject({ written: 1, dropped: 0, writeFailures: 0 });
  });

  it('without the right to create it: one coded error naming CREATE DATABASE, and no line per batch', async () => {
    const user = uniqueName('writer');
    await influxQl(secured, `CREATE USER "${user}" WITH PASSWORD 'pw'`, true);
    const database = uniqueName('absent');
    const { lines, logger } = logged();
    const s = store(secured, { database, username: user, password: 'pw', logger });
    const err = await s.ready().then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCodes.METRICS_STORE });
    expect((err as Error).message).toContain(`CREATE DATABASE "${database}"`);
    expect(await influxQl(secured, 'SHOW DATABASES', true)).not.toContain(database);
    // A component that went on anyway: its points are dropped and counted, said once.
    for (let i = 0; i < 40; i++) s.writeRequest(requestMetric({ model: 'm', timeMs: Date.now() - i }));
    await s.flush();
    expect(s.stats()).toMatchObject({ written: 0, dropped: 40, buffered: 0 });
    const errors = lines.filter((l) => (l.level as number) >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: ErrorCodes.METRICS_STORE });
    expect(JSON.stringify(lines)).not.toContain('"stack"');
  });

  it('dynasplit edge without the right to create it stops at start with one line naming the command', async () => {
    const user = uniqueName('edge');
    await influxQl(secured, `CREATE USER "${user}" WITH PASSWORD 'pw'`, true);
    const database = uniqueName('absent');
    const edge = spawnDynasplit(['edge', '--metrics', 'influxdb', '--mqtt', 'mqtt://127.0.0.1:9'], {
      INFLUX_API: 'v1', INFLUX_URL: secured.url, INFLUX_DB: database, INFLUX_USERNAME: user, INFLUX_PASSWORD: 'pw', DYNASPLIT_LOG_FORMAT: 'json',
    });
    expect(await edge.exited).not.toBe(0);
    const lines = edge.output().trim().split('\n').filter((l) => /METRICS_STORE/.test(l));
    expect(lines, edge.output()).toHaveLength(1);
    expect(lines[0]).toContain('CREATE DATABASE');
    expect(lines[0]).toContain(database);
    expect(edge.output()).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('with the right to create it (an admin), creates it on a server that requires credentials', async () => {
    const database = uniqueName('admin');
    const s = store(secured, { database, ...INFLUX_ADMIN });
    await s.ready();
    expect(await influxQl(secured, 'SHOW DATABASES', true)).toContain(database);
  });

  it('refused credentials: one coded error saying so', async () => {
    const s = store(secured, { database: secured.database, username: INFLUX_ADMIN.username, password: 'wrong' });
    await expect(s.ready()).rejects.toMatchObject({ code: ErrorCodes.METRICS_STORE, details: { status: 401 } });
  });

  it('a reader (the optimizer) without the right to read: ready({ read }) names GRANT READ; queries are the same coded error', async () => {
    const user = uniqueName('writer');
    await influxQl(secured, `CREATE USER "${user}" WITH PASSWORD 'pw'`, true);
    await influxQl(secured, `GRANT WRITE ON "${secured.database}" TO "${user}"`, true);
    const s = store(secured, { database: secured.database, username: user, password: 'pw' });
    await s.ready(); // it may write: a node that only writes starts
    const refused = expect.objectContaining({ code: ErrorCodes.METRICS_STORE, retryable: false, message: expect.stringContaining(`GRANT READ ON "${secured.database}" TO "${user}"`) });
    await expect(s.ready({ read: true })).rejects.toEqual(refused);
    await expect(s.configurationStats({ model: 'm', sinceMs: 0 })).rejects.toEqual(refused);
  });

  it('the 2.x write API against an InfluxDB 1.x: the error says to set INFLUX_API=v1, not to create a bucket', async () => {
    const s = createMetricsStore('influxdb', { url: open.url, api: 'v2', token: 't', org: 'o', bucket: 'dynasplit' });
    onTestFinished(() => s.close());
    const err = await s.ready().then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCodes.METRICS_STORE });
    expect((err as Error).message).toMatch(/no InfluxDB 2\.x write API.*fix: set INFLUX_API=v1/);
  });

  it('a database dropped while the node runs: one error line, points dropped and counted, and writes resume once it is back', async () => {
    const database = uniqueName('dropped');
    const { lines, logger } = logged();
    const s = store(open, { database, logger, brokenRetryMs: 200 });
    await s.ready();
    s.writeRequest(requestMetric({ model: 'm' }));
    await s.flush();
    await influxQl(open, `DROP DATABASE "${database}"`);
    for (let i = 0; i < 30; i++) {
      s.writeRequest(requestMetric({ model: 'm', timeMs: Date.now() - i }));
      if (i % 5 === 4) await s.flush(); // six batches
    }
    expect(s.stats()).toMatchObject({ written: 1, dropped: 30 });
    expect(lines.filter((l) => (l.level as number) >= 50)).toEqual([expect.objectContaining({ code: ErrorCodes.METRICS_STORE, status: 404 })]);
    expect(lines.find((l) => (l.level as number) >= 50)!.msg).toMatch(/dropped until it is fixed \(tried again every 200 ms, no restart needed\)$/);
    // The operator runs the fix the line names: the node's points are written again, without a restart.
    await influxQl(open, `CREATE DATABASE "${database}"`);
    await vi.waitFor(async () => {
      s.writeRequest(requestMetric({ model: 'm', timeMs: Date.now() }));
      await s.flush();
      expect(s.stats().written).toBeGreaterThan(1);
    }, { timeout: 10_000, interval: 100 });
    expect(lines.some((l) => l.msg === 'metrics writes resumed')).toBe(true);
    // Still one error line: the tries before the fix failed for the same reason and said nothing new.
    expect(lines.filter((l) => (l.level as number) >= 50)).toHaveLength(1);
  });

  it('a server that takes the connection and never answers: the start says it waits, then goes on buffering', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => { sockets.forEach((c) => c.destroy()); silent.close(() => resolve()); }));
    const { lines, logger } = logged();
    const s = store(open, { url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, logger, requestTimeoutMs: 2_500, closeTimeoutMs: 100 });
    await s.ready();
    const said = lines.map((l) => l.msg);
    expect(said.indexOf('waiting for the metrics store to answer')).toBeGreaterThanOrEqual(0);
    expect(said.indexOf('waiting for the metrics store to answer')).toBeLessThan(said.indexOf('metrics store not reachable; points are buffered until it is'));
  });

  it('a server that is down at start is waited for, not an error', async () => {
    const { lines, logger } = logged();
    const s = store(open, { url: 'http://127.0.0.1:9', logger, closeTimeoutMs: 100 });
    await s.ready();
    const line = lines.find((l) => l.msg === 'metrics store not reachable; points are buffered until it is');
    // The cause is named, not only fetch's own "fetch failed": port 9 is one fetch refuses to dial.
    expect(line?.err).toBe('metrics store: InfluxDB at http://127.0.0.1:9 cannot be reached: fetch failed: bad port');
  });
});

describe('v2 write API set-up', () => {
  it('VictoriaMetrics (v2 write, no buckets) takes the probe: ready', async () => {
    const vm = await startVictoriaMetrics();
    onTestFinished(() => vm.stop());
    const s = createMetricsStore('influxdb', { url: vm.url, api: 'v2', token: 't', org: 'o', bucket: 'b' });
    onTestFinished(() => s.close());
    await s.ready();
  });
});
