/**
 * `npm run bench -- messaging`: the messaging legs of the pipeline alone, each in the deployment's
 * shape (separate OS processes over loopback TCP), without a model:
 *  - mqtt legs: sensor -> broker -> edge -> broker -> sensor, QoS 1 both ways as the pipeline has it
 *    (this process is the sensor, bench/messaging-peer.ts `mqtt-echo` the edge), through the
 *    dynasplit broker, through aedes with its defaults and no hooks, and through Mosquitto;
 *  - nats link: edge -> nats-server -> worker -> edge request/reply, through the NATS TensorTransport
 *    on both sides and through plain nats.js with payloads of the same size;
 *  - mqtt link: the same through the MQTT TensorTransport and the dynasplit broker / Mosquitto.
 * One request at a time and 16 in flight, 1 KB and 100 KB payloads. Per variant: round trip p50 /
 * p95, requests/s, and CPU time per request of every process taking part (/proc utime + stime over
 * the phase, or process.cpuUsage() for this one, divided by the requests). The variants of a leg
 * run interleaved, round by round, so that the machine's load falls on all of them alike. CPU
 * columns: µs per request, in brackets the part spent in the kernel (system time).
 *
 * `--base DIR`: also run the dynasplit broker, the edge's and the worker's transport code from the
 * checkout at DIR (e.g. `git archive HEAD | tar -x -C DIR` and a node_modules link), as "(base)"
 * variants beside this tree's, so a change is measured against its predecessor in the same run;
 * repeatable ("(base 2)", ...).
 * `--broker NAME:VAR=VALUE,...` (repeatable): one more dynasplit broker of this tree, started with those
 * environment variables, e.g. `--broker 'small queue:DYNASPLIT_BROKER_MAX_QUEUE_MB=1'`.
 * `--gap-ms G`: each request after G ms with nothing in flight (one lane at a time only), as a request to a
 * large model leaves the processes on its way idle while it computes (waking them costs time).
 * `--rounds R` (default 5), `--messages N` (per variant and round, default 400), `--legs` a comma-separated
 * subset of mqtt-legs, nats-link, mqtt-link, `--payloads 1024,102400` and `--in-flight 1,16` (the defaults).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { connectMqtt, percentile, type MqttClient } from '../common/index.ts';
import { freePort, natsServerEnv, NODE_FLAGS, startMosquitto, startNatsServer } from '../local-servers/index.ts';
import { TailRequest } from '../schemas/index.ts';
import { createMqttTransport, createNatsTransport, type TensorTransport } from '../transport/index.ts';
import { processUsage } from './deployment.ts';
import { envText, inLanes, printTable } from './harness.ts';

const HERE = join(import.meta.dirname, '..');
/** bytes per request; `--payloads` */
let payloads = [1024, 100 * 1024];
/** requests in flight; `--in-flight` */
let inFlights = [1, 16];
/** ms idle before each request; `--gap-ms` (one in flight only) */
let gapMs = 0;
const LEGS = ['mqtt legs', 'nats link', 'mqtt link'] as const;
/** Sensor connections of the MQTT legs when several requests are in flight (as the pipeline bench). */
const SENSORS = 4;
const TIMEOUT_MS = 30_000;

interface Process { name: string; pid: number }

/** One way of making a round trip, connected and ready. */
interface Variant {
  leg: string;
  name: string;
  /** Processes besides this one whose CPU time counts. */
  processes: Process[];
  /** One round trip of a `bytes`-sized request; `lane` picks the connection among several. */
  roundTrip(bytes: number, lane: number): Promise<void>;
  close(): Promise<void>;
}

interface Tally { latencies: number[]; wallMs: number; requests: number; cpuMs: Record<string, number> }

export async function benchMessaging(argv: readonly string[] = process.argv): Promise<void> {
  const bases = argv.flatMap((a, i) => (argv[i - 1] === '--base' ? [a] : []));
  const rounds = Number(valueOf(argv, '--rounds') ?? 5);
  const messages = Number(valueOf(argv, '--messages') ?? 400);
  payloads = valueOf(argv, '--payloads')?.split(',').map(Number) ?? payloads;
  inFlights = valueOf(argv, '--in-flight')?.split(',').map(Number) ?? inFlights;
  gapMs = Number(valueOf(argv, '--gap-ms') ?? 0);
  if (gapMs > 0) inFlights = inFlights.filter((n) => n === 1);
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  process.stderr.write(`messaging bench: load average ${load}\n`);
  const servers = await startServers(bases, argv.flatMap((a, i) => (argv[i - 1] === '--broker' ? [a] : [])));
  try {
    const wanted = valueOf(argv, '--legs')?.split(',');
    for (const leg of LEGS.filter((l) => !wanted || wanted.includes(l.replace(' ', '-')))) {
      process.stderr.write(`messaging bench: ${leg}...\n`);
      const variants = await legVariants(leg, servers, bases);
      try {
        const tallies = await interleave(variants, rounds, messages);
        report(leg, variants, tallies);
      } finally {
        for (const v of variants) await v.close();
      }
    }
  } finally {
    await servers.stop();
  }
  process.stderr.write(`messaging bench: load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
}

function valueOf(argv: readonly string[], flag: string): string | undefined {
  const at = argv.indexOf(flag);
  return at >= 0 ? argv[at + 1] : undefined;
}

interface Servers {
  /** name -> URL and pid: dynasplit, dynasplit (base), mosquitto, nats */
  mqtt: { name: string; url: string; pid: number; root: string }[];
  nats: { url: string; pid: number };
  stop(): Promise<void>;
}

async function startServers(bases: string[], brokerSpecs: string[]): Promise<Servers> {
  const stops: (() => Promise<unknown>)[] = [];
  const mqtt: Servers['mqtt'] = [];
  try {
    const nats = await startNatsServer();
    stops.push(() => nats.stop());
    for (const [name, root] of [['dynasplit', HERE], ...bases.map((base, i) => [`dynasplit (${baseName(i)})`, base])] as const) {
      const broker = await spawnBroker(root);
      stops.push(broker.stop);
      mqtt.push({ name, url: broker.url, pid: broker.pid, root });
    }
    for (const spec of brokerSpecs) {
      const [name, envs = ''] = spec.split(':');
      const broker = await spawnBroker(HERE, Object.fromEntries(envs.split(',').filter(Boolean).map((e) => e.split('=') as [string, string])));
      stops.push(broker.stop);
      mqtt.push({ name, url: broker.url, pid: broker.pid, root: HERE });
    }
    const port = await freePort();
    const aedes = await spawnPeer('aedes', String(port), HERE);
    stops.push(aedes.stop);
    mqtt.push({ name: 'aedes (plain)', url: `mqtt://127.0.0.1:${port}`, pid: aedes.pid, root: 'plain' });
    const mosquitto = await startMosquitto();
    stops.push(() => mosquitto.stop());
    mqtt.push({ name: 'mosquitto', url: mosquitto.url, pid: mosquitto.pid, root: HERE });
    for (const b of mqtt) process.stderr.write(`messaging bench: ${b.name} at ${b.url}, pid ${b.pid}\n`);
    process.stderr.write(`messaging bench: nats-server at ${nats.url}, pid ${nats.pid}, ${envText(natsServerEnv())} (the deploy kit's drop-in)\n`);
    return { mqtt, nats: { url: nats.url, pid: nats.pid }, stop: async () => { for (const stop of stops.reverse()) await stop(); } };
  } catch (err) {
    for (const stop of stops.reverse()) await stop();
    throw err;
  }
}

/** `dynasplit broker` of the checkout at `root`, as its own process. */
async function spawnBroker(root: string, env: Record<string, string> = {}): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...NODE_FLAGS, join(root, 'bin', 'dynasplit.js'), 'broker', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  await waitForLine(child, url);
  return { url, pid: child.pid!, stop: () => stopChild(child) };
}

/** bench/messaging-peer.ts as its own process. */
async function spawnPeer(mode: string, url: string, root: string): Promise<{ pid: number; stop(): Promise<void> }> {
  // The flags every dynasplit process runs with (NODE_FLAGS): without --initial-heap-size=64 a
  // worker answering 100 KB requests ran a mark-compact every ~40 requests and cost 2-3x its CPU.
  const child = spawn(process.execPath, [...NODE_FLAGS, '--import', 'tsx', join(HERE, 'bench', 'messaging-peer.ts'), mode, url, root],
    { stdio: ['ignore', 'pipe', 'inherit'], cwd: HERE });
  await waitForLine(child, 'ready');
  return { pid: child.pid!, stop: () => stopChild(child) };
}

function waitForLine(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      if (out.includes(text)) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`process exited (${code}) before printing '${text}'`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** "base", then "base 2", "base 3"... for the checkouts given with --base, in order. */
function baseName(index: number): string {
  return index === 0 ? 'base' : `base ${index + 1}`;
}

async function legVariants(leg: 'mqtt legs' | 'nats link' | 'mqtt link', servers: Servers, bases: string[]): Promise<Variant[]> {
  const variants: Variant[] = [];
  try {
    if (leg === 'mqtt legs') {
      for (const broker of servers.mqtt) variants.push(await mqttLegs(broker));
    } else if (leg === 'nats link') {
      variants.push(await natsRaw(servers.nats));
      variants.push(await natsOurs(servers.nats, HERE, 'transport'));
      for (const [i, base] of bases.entries()) variants.push(await natsOurs(servers.nats, base, `transport (${baseName(i)})`));
    } else {
      // The MQTT transport's workers need shared subscriptions, which plain aedes does not have.
      for (const broker of servers.mqtt.filter((b) => b.root !== 'plain')) variants.push(await mqttLink(broker));
    }
    return variants;
  } catch (err) {
    for (const v of variants) await v.close();
    throw err;
  }
}

/** Round trips matched by a sequence number in the payload's first 8 bytes. */
class Matcher {
  #next = 0;
  readonly #waiting = new Map<number, () => void>();

  /** A fresh sequence number and the promise of its answer. */
  open(): { seq: number; answered: Promise<void> } {
    const seq = this.#next++;
    return { seq, answered: new Promise<void>((resolve) => this.#waiting.set(seq, resolve)) };
  }

  answer(payload: Uint8Array): void {
    const seq = Buffer.from(payload.buffer, payload.byteOffset, 8).readDoubleLE(0);
    const resolve = this.#waiting.get(seq);
    this.#waiting.delete(seq);
    resolve?.();
  }
}

async function mqttLegs(broker: Servers['mqtt'][number]): Promise<Variant> {
  const peer = await spawnPeer('mqtt-echo', broker.url, broker.root);
  const matcher = new Matcher();
  const sensors: MqttClient[] = [];
  // The sensors' client code is the checkout's of the broker, as the edge's (bench/messaging-peer.ts).
  const { connectMqtt: connectSensor } = broker.root === 'plain' ? { connectMqtt }
    : (await import(join(broker.root, 'common', 'index.ts'))) as { connectMqtt: typeof connectMqtt };
  for (let i = 0; i < SENSORS; i++) {
    const client = await connectSensor(broker.url, { clientId: `bench-sensor-${process.pid}-${i}` });
    client.on('message', (_topic, payload) => matcher.answer(payload));
    await client.subscribeAsync(`bench/v1/results/s${i}`, { qos: 1 });
    sensors.push(client);
  }
  const frames = new Map(payloads.map((bytes) => [bytes, Buffer.alloc(bytes, 7)]));
  return {
    leg: 'mqtt legs',
    name: broker.name,
    processes: [{ name: 'broker', pid: broker.pid }, { name: 'edge', pid: peer.pid }],
    roundTrip: async (bytes, lane) => {
      const { seq, answered } = matcher.open();
      const payload = Buffer.from(frames.get(bytes)!);
      payload.writeDoubleLE(seq, 0);
      const sensor = lane % SENSORS;
      await sensors[sensor]!.publishAsync(`bench/v1/frames/s${sensor}`, payload, { qos: 1 });
      await answered;
    },
    close: async () => {
      await Promise.all(sensors.map((s) => s.endAsync()));
      await peer.stop();
    },
  };
}

/** Tensor bytes per size, made once: an edge's head output is not this bench's to allocate. */
const tensorData = new Map<number, Uint8Array>();

function tailRequest(bytes: number, seq: number): { request_id: string; model: string; cut: string; tensor: { name: string; shape: number[]; codec: number; data: Uint8Array } } {
  return { request_id: `r${seq}`, model: 'bench', cut: 'cut', tensor: { name: 'cut', shape: [1, bytes / 4], codec: 1, data: tensorOf(bytes) } };
}

function tensorOf(bytes: number): Uint8Array {
  let data = tensorData.get(bytes);
  if (!data) tensorData.set(bytes, data = new Uint8Array(bytes));
  return data;
}

async function natsRaw(nats: Servers['nats']): Promise<Variant> {
  const peer = await spawnPeer('nats-raw', nats.url, HERE);
  const nc: NatsConnection = await connect({ servers: nats.url });
  // The same bytes as the transport's request, so both carry the same load.
  const bodies = new Map(payloads.map((bytes) => [bytes, TailRequest.encode(tailRequest(bytes, 0)).finish()]));
  return {
    leg: 'nats link',
    name: 'nats.js',
    processes: [{ name: 'nats-server', pid: nats.pid }, { name: 'worker', pid: peer.pid }],
    roundTrip: async (bytes) => { await nc.request('bench.v1.raw', bodies.get(bytes)!, { timeout: TIMEOUT_MS }); },
    close: async () => {
      await nc.drain();
      await peer.stop();
    },
  };
}

/** The transport of the checkout at `root`, both sides. */
async function natsOurs(nats: Servers['nats'], root: string, name: string): Promise<Variant> {
  const peer = await spawnPeer('nats-ours', nats.url, root);
  const t = (await import(join(root, 'transport', 'index.ts'))) as { createNatsTransport: typeof createNatsTransport };
  const transport = await t.createNatsTransport({ servers: nats.url });
  return transportVariant('nats link', name, transport, [{ name: 'nats-server', pid: nats.pid }, { name: 'worker', pid: peer.pid }], peer.stop);
}

async function mqttLink(broker: Servers['mqtt'][number]): Promise<Variant> {
  const peer = await spawnPeer('mqtt-ours', broker.url, broker.root);
  const t = (await import(join(broker.root, 'transport', 'index.ts'))) as { createMqttTransport: typeof createMqttTransport };
  const transport = await t.createMqttTransport({ url: broker.url, edgeId: `bench-${process.pid}-${broker.name.replace(/\W+/g, '-')}` });
  return transportVariant('mqtt link', broker.name, transport, [{ name: 'broker', pid: broker.pid }, { name: 'worker', pid: peer.pid }], peer.stop);
}

function transportVariant(leg: string, name: string, transport: TensorTransport, processes: Process[], stopPeer: () => Promise<void>): Variant {
  let seq = 0;
  return {
    leg,
    name,
    processes,
    roundTrip: async (bytes) => {
      const reply = await transport.request(tailRequest(bytes, seq++), { timeoutMs: TIMEOUT_MS });
      if (reply.error?.code) throw new Error(`bench request failed: ${reply.error.code} ${reply.error.message}`);
    },
    close: async () => {
      await transport.close();
      await stopPeer();
    },
  };
}

/**
 * Runs every variant `rounds` times per shape, in turn, after one warm-up round each. Each round
 * starts one variant later than the one before, so that no variant always runs right after another
 * (the second of a pair read lower when the order was fixed).
 */
async function interleave(variants: Variant[], rounds: number, messages: number): Promise<Map<string, Tally>> {
  const tallies = new Map<string, Tally>();
  for (const bytes of payloads) {
    for (const inFlight of inFlights) {
      const count = inFlight === 1 ? messages : messages * 4;
      for (const v of variants) await phase(v, bytes, inFlight, Math.min(count, 100));
      for (let round = 0; round < rounds; round++) {
        for (const v of rotated(variants, round)) {
          const key = `${v.name}|${bytes}|${inFlight}`;
          const tally = tallies.get(key) ?? { latencies: [], wallMs: 0, requests: 0, cpuMs: {} };
          tallies.set(key, tally);
          const result = await phase(v, bytes, inFlight, count);
          tally.latencies.push(...result.latencies);
          tally.wallMs += result.wallMs;
          tally.requests += count;
          for (const [p, ms] of Object.entries(result.cpuMs)) tally.cpuMs[p] = (tally.cpuMs[p] ?? 0) + ms;
        }
      }
    }
  }
  return tallies;
}

/** `items` starting at `by` (modulo its length), wrapping around. */
function rotated<T>(items: T[], by: number): T[] {
  const at = items.length ? by % items.length : 0;
  return [...items.slice(at), ...items.slice(0, at)];
}

async function phase(v: Variant, bytes: number, inFlight: number, count: number): Promise<{ latencies: number[]; wallMs: number; cpuMs: Record<string, number> }> {
  const before = v.processes.map((p) => processUsage(p.pid));
  const self = process.cpuUsage();
  const started = performance.now();
  const latencies = await inLanes(count, inFlight, async (lane) => {
    if (gapMs > 0) await sleep(gapMs);
    const t0 = performance.now();
    await v.roundTrip(bytes, lane);
    return performance.now() - t0;
  });
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(self);
  const me = v.leg === 'mqtt legs' ? 'sensor' : 'edge';
  const cpuMs: Record<string, number> = { [me]: (used.user + used.system) / 1000, [`${me} sys`]: used.system / 1000 };
  v.processes.forEach((p, i) => {
    const after = processUsage(p.pid);
    cpuMs[p.name] = after.cpuMs - before[i]!.cpuMs;
    cpuMs[`${p.name} sys`] = after.sysMs - before[i]!.sysMs;
  });
  return { latencies, wallMs, cpuMs };
}

function report(leg: string, variants: Variant[], tallies: Map<string, Tally>): void {
  const rows: (string | number)[][] = [];
  const processNames = [...new Set(variants.flatMap((v) => [leg === 'mqtt legs' ? 'sensor' : 'edge', ...v.processes.map((p) => p.name)]))];
  for (const bytes of payloads) {
    for (const inFlight of inFlights) {
      for (const v of variants) {
        const t = tallies.get(`${v.name}|${bytes}|${inFlight}`)!;
        rows.push([v.name, `${bytes / 1024} KB`, inFlight, t.requests,
          percentile(t.latencies, 0.5).toFixed(3), percentile(t.latencies, 0.95).toFixed(3),
          Math.round(t.requests / (t.wallMs / 1000)),
          ...processNames.map((p) => (t.cpuMs[p] === undefined ? '-'
            : `${(1000 * t.cpuMs[p]! / t.requests).toFixed(0)} (${(1000 * t.cpuMs[`${p} sys`]! / t.requests).toFixed(0)})`))]);
      }
    }
  }
  const gap = gapMs > 0 ? `, each after ${gapMs} ms idle` : '';
  printTable(`${leg}: round trip (ms) and CPU per request (µs) per process, separate processes, interleaved${gap} (measured; load ${loadavg()[0]!.toFixed(2)})`,
    ['variant', 'payload', 'in flight', 'requests', 'p50 ms', 'p95 ms', 'req/s', ...processNames.map((p) => `${p} µs (sys)`)], rows);
}
