/**
 * `npm run soak`: a deployment of separate processes — a persistent `dynasplit broker`, a 3-node NATS
 * cluster, two cloud workers, a durable edge node writing metrics to InfluxDB — under a steady
 * stream of frames while one fault after another hits it, then 30 s at 10x the rate it sustains,
 * then a hostile phase (hostile.ts): a stuck subscriber, a flooding sensor, a sensor sending oversized
 * fields and a full disk under the edge, each costed in the well-behaved sensors' budgets met.
 * Every component and sensor logs in with its own account (a users file the soak writes), and the
 * broker bounds a sensor's packets at what the soak's model needs (--role-max-packet-kb).
 * Ends by printing one JSON line:
 *   { "accepted", "delivered", "duplicatesSuppressed", "errorsByCode": { }, "peakRssMb", "hostile": { } }
 * and exits 0 only when every accepted request was answered (delivered == accepted).
 * Progress goes to stderr. About 6 minutes here; bounded at 15 by a watchdog.
 *
 * Options: --hostile-only skips the faults and the overload (the deployment, the rate probe and the
 * hostile phase only); --window-s N makes each hostile window N s (default 10).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hashPassword } from '../../broker/index.ts';
import { generateModel } from '../../model/zoo/index.ts';
import { spawnDynasplit, type Spawned } from '../../local-servers/index.ts';
import { freePort, startInfluxDb, startNatsCluster } from '../../local-servers/index.ts';
import { DEFAULT_WINDOW_MS, runHostilePhase, SmallDisk } from './hostile.ts';
import { addBooks, SoakSensor } from './sensor.ts';

const MODEL = 'vgg16-tiny';
const SHAPE = [1, 3, 32, 32];
const WATCHDOG_MS = 15 * 60_000;
/** Long enough for a frame to outlive a restart of any one component. */
const BUDGET_MS = 20_000;
/**
 * KiB; the largest packet a sensor account may send: the model's input as fp32 plus 4 KiB for the
 * frame's other fields (each at most a few hundred bytes, docs/security.md) and the PUBLISH's header
 * and topic. A frame with a 1 KiB model name fits; one with a 1 MiB name does not.
 */
const SENSOR_PACKET_KB = Math.ceil((SHAPE.reduce((a, b) => a * b, 1) * 4 + 4096) / 1024);
const SENSORS = ['soak-probe', 'soak-steady', 'soak-flood', 'soak-calm-1', 'soak-calm-2', 'soak-hostile-flood', 'soak-hostile-oversized', 'soak-hostile-fields'];
const { values: flags } = parseArgs({ options: { 'hostile-only': { type: 'boolean' }, 'window-s': { type: 'string' } } });
const windowMs = flags['window-s'] === undefined ? DEFAULT_WINDOW_MS : Number(flags['window-s']) * 1000;
if (!Number.isFinite(windowMs) || windowMs < 1000) throw new Error(`--window-s must be a number of seconds, at least 1; got ${flags['window-s']}`);
const started = Date.now();
const log = (message: string): void => {
  process.stderr.write(`soak ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s  ${message}\n`);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const watchdog = setTimeout(() => {
  log('watchdog: 15 minutes passed, giving up');
  process.exit(2);
}, WATCHDOG_MS);

const work = mkdtempSync(join(tmpdir(), 'dynasplit-soak-'));
const modelFile = join(work, `${MODEL}.onnx`);
const peaks = new Map<string, number>();
const components = new Map<string, Spawned>();

/** Peak resident memory of each component process, sampled from /proc (VmHWM: the high-water mark). */
function samplePeaks(): void {
  for (const [name, proc] of components) {
    try {
      const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${proc.proc.pid}/status`, 'utf8'))?.[1] ?? 0);
      peaks.set(name, Math.max(peaks.get(name) ?? 0, kb / 1024));
    } catch {
      // exited between two samples
    }
  }
}

/** A users file with an account per component and sensor, all with one random password (the soak's accounts live as long as it). */
async function writeUsers(file: string): Promise<string> {
  const password = randomBytes(12).toString('hex');
  const passwordHash = await hashPassword(password);
  const users = [
    ...['soak-edge', 'soak-stuck'].map((username) => ({ username, passwordHash, role: 'edge' })),
    ...['soak-cloud-0', 'soak-cloud-1'].map((username) => ({ username, passwordHash, role: 'cloud' })),
    ...SENSORS.map((username) => ({ username, passwordHash, role: 'sensor' })),
  ];
  writeFileSync(file, JSON.stringify({ users }));
  return password;
}

/** Waits until every frame sent was acknowledged and answered, saying what is missing every 5 s. */
async function waitForAnswers(sensors: SoakSensor[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let said = Date.now();
  for (;;) {
    const missing = sensors.map((s) => ({ sensor: s.sensorId, unanswered: s.unanswered(), unacknowledged: s.unacknowledged() }))
      .filter((m) => m.unanswered + m.unacknowledged > 0);
    if (missing.length === 0) return;
    if (Date.now() > deadline) {
      log(`gave up waiting: ${JSON.stringify(missing)}`);
      return;
    }
    if (Date.now() - said > 5_000) {
      log(`waiting: ${JSON.stringify(missing)}`);
      said = Date.now();
    }
    await sleep(100);
  }
}

async function main(): Promise<number> {
  log(`generating ${MODEL} into ${work}`);
  await generateModel(MODEL, work);
  const nats = await startNatsCluster({ size: 3 });
  const influx = await startInfluxDb();
  let influxNow = influx;
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  const usersFile = join(work, 'users.json');
  const password = await writeUsers(usersFile);
  const urlFor = (account: string) => `mqtt://${account}:${password}@127.0.0.1:${port}`;
  const brokerDir = join(work, 'broker');
  const edgeDir = join(work, 'edge');
  const model = `${MODEL}=${modelFile}`;
  const metricsEnv = { DYNASPLIT_METRICS: 'influxdb', INFLUX_API: 'v1', INFLUX_URL: influx.url, INFLUX_DB: influx.database };
  const rotate = (i: number) => [...nats.urls.slice(i), ...nats.urls.slice(0, i)].join(',');

  /** processes the soak stops or kills itself; any other exit is reported with the end of its output */
  const meant = new Set<Spawned>();
  const start = async (name: string, args: string[], ready: RegExp, env: Record<string, string> = {}): Promise<void> => {
    const proc = spawnDynasplit(args, env);
    components.set(name, proc);
    void proc.exited.then((code) => {
      if (!meant.has(proc)) log(`${name} exited unexpectedly (code ${code}, signal ${proc.proc.signalCode}); its last output:\n${proc.output().slice(-4000)}`);
    });
    await proc.waitFor(ready, 60_000);
  };
  const broker = () => start('broker', ['broker', '--host', '127.0.0.1', '--port', String(port), '--persistence', brokerDir,
    '--users', usersFile, '--role-max-packet-kb', `sensor=${SENSOR_PACKET_KB}`], new RegExp(url));
  const cloud = (i: number) => start(`cloud-${i}`, ['cloud', '--id', `soak-cloud-${i}`, '--mqtt', urlFor(`soak-cloud-${i}`), '--transport', 'nats', '--nats', rotate(i + 1),
    '--model', model, '--threads', '1', '--log-level', 'info'], /cloud worker serving/);
  let maxSensorRate = 0;
  const edge = () => start('edge', ['edge', '--id', 'soak-edge', '--mqtt', urlFor('soak-edge'), '--transport', 'nats', '--nats', rotate(0), '--model', model,
    '--threads', '1', '--state-dir', edgeDir, '--max-sensor-rate', String(maxSensorRate), '--log-level', 'info'], /edge node serving/, metricsEnv);
  const kill = async (name: string): Promise<void> => {
    const proc = components.get(name)!;
    samplePeaks();
    meant.add(proc);
    proc.proc.kill('SIGKILL');
    await proc.exited;
  };

  const sensors: SoakSensor[] = [];
  /** A steady sensor through one fault after another, then a second sensor at 10x the sustainable rate for 30 s. */
  const faultsAndOverload = async (sustainable: number): Promise<void> => {
    const steady = await SoakSensor.connect(urlFor('soak-steady'), 'soak-steady', MODEL, SHAPE);
    sensors.push(steady);
    const steadyRate = Math.max(5, Math.round(sustainable / 4));
    const faults = (async () => {
      await sleep(8_000);
      log('fault: cloud worker 0 SIGKILLed (restarted 3 s later)');
      await kill('cloud-0');
      await sleep(3_000);
      await cloud(0);
      await sleep(8_000);
      log('fault: NATS node 0 SIGKILLed (the edge\'s first server; restarted 8 s later)');
      nats.kill(0);
      await sleep(8_000);
      await nats.restart(0);
      await sleep(8_000);
      log('fault: edge node SIGKILLed, restarted on its state directory');
      await kill('edge');
      await edge();
      await sleep(8_000);
      log('fault: broker SIGKILLed, restarted on its persistence directory 2 s later');
      await kill('broker');
      await sleep(2_000);
      await broker();
      await sleep(8_000);
      log('fault: InfluxDB SIGKILLed (restarted 8 s later on its port and data)');
      influx.kill9();
      await sleep(8_000);
      influxNow = await startInfluxDb({ port: influx.port, dir: influx.dir, database: influx.database });
      await sleep(5_000);
    })();
    const steadyRun = steady.send(steadyRate, 95, BUDGET_MS);
    await faults;
    const flood = await SoakSensor.connect(urlFor('soak-flood'), 'soak-flood', MODEL, SHAPE);
    sensors.push(flood);
    log(`overload: a second sensor at ${sustainable * 10} frames/s (10x) for 30 s`);
    await flood.send(sustainable * 10, 30, 5_000);
    await steadyRun;
  };

  const sampler = setInterval(samplePeaks, 500);
  // The edge's state directory on its own small disk, which the hostile phase fills (root only).
  const disk = SmallDisk.mount(edgeDir, 256);
  try {
    await broker();
    await Promise.all([cloud(0), cloud(1)]);
    await edge();
    log(`deployment up: broker (persistent, logins, sensor packets up to ${SENSOR_PACKET_KB} KiB), 3 NATS nodes, 2 cloud workers, edge (durable, metrics to InfluxDB)`);

    // The rate this deployment sustains: a burst with room to finish, timed from first send to last answer.
    const probe = await SoakSensor.connect(urlFor('soak-probe'), 'soak-probe', MODEL, SHAPE);
    sensors.push(probe);
    const burst = 300;
    const t0 = performance.now();
    await probe.send(2_000, burst / 2_000, 60_000);
    await waitForAnswers([probe], 60_000);
    const sustainable = Math.max(10, Math.round(burst / ((performance.now() - t0) / 1000)));
    log(`sustainable rate ~${sustainable} frames/s (a ${burst}-frame burst, measured)`);

    // The edge limits any one sensor to the sustainable rate; restart it with that limit (also a restart test).
    maxSensorRate = sustainable;
    await kill('edge');
    await edge();
    if (!flags['hostile-only']) await faultsAndOverload(sustainable);
    log('waiting for every accepted request\'s answer before the hostile phase');
    await waitForAnswers(sensors, 180_000);
    const hostile = await runHostilePhase({
      urlFor, port, stuck: { username: 'soak-stuck', password }, model: MODEL, shape: SHAPE, sustainable, disk, windowMs, log, adopt: (s) => sensors.push(s),
    });
    log(`hostile phase, budgets met by the well-behaved sensors per window: ${JSON.stringify(hostile)}`);
    log(`sent: ${sensors.map((s) => `${s.sensorId} ${s.sent}`).join(', ')}; waiting for every accepted request's answer`);
    await waitForAnswers(sensors, 180_000);
    samplePeaks();
    const books = addBooks(sensors.map((s) => s.books()));
    const peakRssMb = Math.round(Math.max(...peaks.values()));
    log(`peak RSS (MB): ${[...peaks].map(([name, mb]) => `${name} ${mb.toFixed(0)}`).join(', ')}`);
    for (const sensor of sensors) log(`${sensor.sensorId}: sent ${sensor.sent}, ${JSON.stringify(sensor.books())}`);
    process.stdout.write(`${JSON.stringify({ ...books, peakRssMb, hostile })}\n`);
    for (const sensor of sensors) await sensor.close(urlFor(sensor.sensorId)).catch(() => undefined);
    return books.delivered === books.accepted ? 0 : 1;
  } finally {
    clearInterval(sampler);
    for (const proc of components.values()) {
      meant.add(proc);
      await proc.stop('SIGTERM');
    }
    await nats.stop();
    await influxNow.stop();
    if (disk instanceof SmallDisk) disk.unmount();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then((code) => {
  clearTimeout(watchdog);
  process.exit(code);
}, (err) => {
  log(`failed: ${(err as Error).stack ?? err}`);
  process.exit(2);
});
