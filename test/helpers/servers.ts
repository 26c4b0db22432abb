/**
 * Real servers for integration tests, started from their Debian binaries on ephemeral ports with
 * temp dirs (never the system services on 4222/1883). Every start returns a `stop()`; register it
 * with vitest's afterAll/onTestFinished where the server is started. Missing binaries:
 * scripts/install-test-deps.sh installs them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServerOptions {
  /** bytes; the server's default is 1 MiB. */
  maxPayload?: number;
  jetstream?: boolean;
  /** Fixed port (e.g. to restart a killed server where clients expect it); default: one the server picks. */
  port?: number;
  /** Extra command-line arguments. */
  args?: string[];
  /** Extra lines for the generated config file (authorization, tls blocks). */
  config?: string[];
}

export interface RunningServer {
  url: string;
  port: number;
  pid: number;
  /** The server's temp dir (config, JetStream store); removed by stop(). */
  dir: string;
  /** SIGTERM, then SIGKILL after 5 s; removes the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** Crash it (SIGKILL) now, leaving the temp dir for stop() to remove. */
  kill9(): void;
}

/** ms to wait for a server to accept connections. */
const START_TIMEOUT_MS = 15_000;
const POLL_MS = 20;
const running = new Set<ChildProcess>();

// A test file that dies half-way must not leave servers behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A TCP port free right now on 127.0.0.1 (the OS picks it; another process may take it before use). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts nats-server 2.9+ with a generated config; it picks its own port (`port: -1`) and reports it in a ports file. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<RunningServer> {
  const bin = findBinary('nats-server');
  const dir = mkdtempSync(join(tmpdir(), 'dynasplit-nats-'));
  const lines = ['host: 127.0.0.1', `port: ${options.port ?? -1}`];
  if (options.maxPayload !== undefined) lines.push(`max_payload: ${options.maxPayload}`);
  if (options.jetstream) lines.push(`jetstream { store_dir: ${JSON.stringify(join(dir, 'jetstream'))} }`);
  lines.push(...(options.config ?? []));
  writeFileSync(join(dir, 'nats.conf'), `${lines.join('\n')}\n`);
  const child = launch(bin, ['-c', join(dir, 'nats.conf'), '--ports_file_dir', dir, ...(options.args ?? [])]);
  try {
    const portsFile = join(dir, `nats-server_${child.pid}.ports`);
    const ports = await waitFor(child, () => (existsSync(portsFile) ? readPorts(portsFile) : undefined));
    const port = Number(new URL(ports.nats[0]!).port);
    await waitForPort(child, port);
    return handle(child, dir, `nats://127.0.0.1:${port}`, port);
  } catch (err) {
    await terminate(child);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Starts Mosquitto 2.x on a free port with anonymous access and no packet size limit below 256 MB.
 * `config`: extra lines after those (later settings win: `allow_anonymous false`, `acl_file`, ...).
 */
export async function startMosquitto(options: { config?: string[] } = {}): Promise<RunningServer> {
  const bin = findBinary('mosquitto');
  // Mosquitto cannot pick its own port: take a free one and retry if another process wins the race.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'dynasplit-mosquitto-'));
    writeFileSync(join(dir, 'mosquitto.conf'), [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      // The MQTT maximum (§2.2.3): a VGG16 early activation is 12.8 MB.
      'max_packet_size 268435455',
      // Without it Nagle's algorithm meets the client's delayed ACK: ~40 ms per hop on small messages.
      'set_tcp_nodelay true',
      'log_dest stderr',
      ...(options.config ?? []),
      '',
    ].join('\n'));
    const child = launch(bin, ['-c', join(dir, 'mosquitto.conf')]);
    try {
      await waitForPort(child, port);
      return handle(child, dir, `mqtt://127.0.0.1:${port}`, port);
    } catch (err) {
      await terminate(child);
      rmSync(dir, { recursive: true, force: true });
      if (attempt >= 3) throw err;
    }
  }
}

function findBinary(name: string): string {
  const found = [`/usr/sbin/${name}`, `/usr/bin/${name}`, `/usr/local/bin/${name}`].find((p) => existsSync(p));
  if (!found) throw new Error(`${name} is not installed; run scripts/install-test-deps.sh`);
  return found;
}

interface SpawnedServer extends ChildProcess {
  output: string[];
}

function launch(bin: string, args: string[]): SpawnedServer {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] }) as SpawnedServer;
  child.output = [];
  const keep = (chunk: Buffer): void => {
    child.output.push(chunk.toString());
    if (child.output.length > 200) child.output.shift(); // the tail is what explains a failure
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

function handle(child: SpawnedServer, dir: string, url: string, port: number): RunningServer {
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    pid: child.pid!,
    dir,
    stop: () => (stopping ??= terminate(child).then(() => rmSync(dir, { recursive: true, force: true }))),
    kill9: () => {
      child.kill('SIGKILL');
    },
  };
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function readPorts(file: string): { nats: string[] } | undefined {
  try {
    const ports = JSON.parse(readFileSync(file, 'utf8')) as { nats?: string[] };
    return ports.nats?.length ? { nats: ports.nats } : undefined;
  } catch {
    return undefined; // written but not complete yet
  }
}

/** Polls `probe` until it returns a value; fails when the server exits or START_TIMEOUT_MS passes. */
async function waitFor<T>(child: SpawnedServer, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${child.spawnfile} exited (${child.exitCode ?? child.signalCode}):\n${child.output.join('')}`);
    }
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${child.spawnfile} did not start within ${START_TIMEOUT_MS} ms:\n${child.output.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function waitForPort(child: SpawnedServer, port: number): Promise<void> {
  await waitFor(child, () => new Promise<true | undefined>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(undefined));
  }));
}

export interface InfluxDbOptions {
  /** Fixed HTTP port and existing temp dir: restart a killed server on its port with its data. */
  port?: number;
  dir?: string;
  /** Database created at start; default `dynasplit`. */
  database?: string;
}

/**
 * Starts Debian's influxd 1.6.7 (v1 write + InfluxQL) with a generated config: its own meta/data/wal
 * dirs, HTTP on 127.0.0.1, the backup RPC port moved off 8088 (two test files would collide there),
 * usage reporting, the _internal monitor store, UDP and Graphite off.
 */
export async function startInfluxDb(options: InfluxDbOptions = {}): Promise<RunningServer & { database: string }> {
  const bin = findBinary('influxd');
  const database = options.database ?? 'dynasplit';
  // influxd cannot pick its own port: take free ones and retry if another process wins the race.
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'dynasplit-influxdb-'));
    const config = join(dir, 'influxdb.conf');
    if (!existsSync(config)) writeFileSync(config, influxConfig(dir, port, await freePort()));
    const child = launch(bin, ['-config', config]);
    try {
      await waitFor(child, () => httpStatus(`http://127.0.0.1:${port}/ping`).then((s) => (s === 204 ? true : undefined)));
      const created = await fetch(`http://127.0.0.1:${port}/query?q=${encodeURIComponent(`CREATE DATABASE "${database}"`)}`, { method: 'POST' });
      if (!created.ok) throw new Error(`CREATE DATABASE failed: ${created.status} ${await created.text()}`);
      return { ...handle(child, dir, `http://127.0.0.1:${port}`, port), database };
    } catch (err) {
      await terminate(child);
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
      if (attempt >= 3 || options.port !== undefined) throw err;
    }
  }
}

function influxConfig(dir: string, httpPort: number, rpcPort: number): string {
  return [
    'reporting-disabled = true',
    `bind-address = "127.0.0.1:${rpcPort}"`,
    '[meta]',
    `  dir = ${JSON.stringify(join(dir, 'meta'))}`,
    '[data]',
    `  dir = ${JSON.stringify(join(dir, 'data'))}`,
    `  wal-dir = ${JSON.stringify(join(dir, 'wal'))}`,
    '  query-log-enabled = false',
    '[monitor]',
    '  store-enabled = false',
    '[http]',
    `  bind-address = "127.0.0.1:${httpPort}"`,
    '  log-enabled = false',
    '[[graphite]]',
    '  enabled = false',
    '[[udp]]',
    '  enabled = false',
    '',
  ].join('\n');
}

/** Starts VictoriaMetrics (single node) on a free port with its own storage dir; it accepts InfluxDB line protocol. */
export async function startVictoriaMetrics(): Promise<RunningServer> {
  const bin = findBinary('victoria-metrics');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'dynasplit-vm-'));
    const child = launch(bin, [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${join(dir, 'data')}`, '-loggerLevel=WARN']);
    try {
      await waitFor(child, () => httpStatus(`http://127.0.0.1:${port}/health`).then((s) => (s === 200 ? true : undefined)));
      return handle(child, dir, `http://127.0.0.1:${port}`, port);
    } catch (err) {
      await terminate(child);
      rmSync(dir, { recursive: true, force: true });
      if (attempt >= 3) throw err;
    }
  }
}

/** The HTTP status of a GET, or undefined while nothing answers. */
async function httpStatus(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}
