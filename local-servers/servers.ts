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
  /** Serve the HTTP monitoring endpoints (/varz, /connz, /routez) on a port the server picks. */
  monitoring?: boolean;
  /** Join a cluster: its name, the route listener's port (default: one the server picks), routes to other nodes. */
  cluster?: { name: string; port?: number; routes?: string[] };
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

export interface RunningNatsServer extends RunningServer {
  /** http://127.0.0.1:PORT of the monitoring endpoints, when `monitoring` was asked for. */
  monitorUrl?: string;
  /** nats://127.0.0.1:PORT of the route listener, when clustered. */
  clusterUrl?: string;
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

/** The deploy kit's systemd drop-in for nats-server: the environment a deployment runs it with. */
const NATS_DROP_IN = join(import.meta.dirname, '..', 'deploy', 'nats', 'nats-server.service.d', 'dynasplit.conf');

/**
 * The `Environment=` settings of the deploy kit's nats-server drop-in (GOGC=400) as every nats-server
 * started here gets them, so that the tests and benches measure the server as deployed: a variable
 * set in this process's own environment wins (`GOGC=100 npm run bench` measures Go's default).
 */
export function natsServerEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(NATS_DROP_IN, 'utf8').split('\n')) {
    const setting = /^Environment=([A-Za-z_][A-Za-z0-9_]*)=(\S+)$/.exec(line.trim());
    if (setting) env[setting[1]!] = process.env[setting[1]!] ?? setting[2]!;
  }
  return env;
}

/**
 * Starts nats-server 2.9+ with a generated config; it picks its own ports (`-1`: client, monitoring,
 * routes) and reports them in a ports file.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<RunningNatsServer> {
  const bin = findBinary('nats-server');
  const dir = mkdtempSync(join(tmpdir(), 'dynasplit-nats-'));
  const lines = ['host: 127.0.0.1', `port: ${options.port ?? -1}`];
  if (options.maxPayload !== undefined) lines.push(`max_payload: ${options.maxPayload}`);
  if (options.jetstream) lines.push(`jetstream { store_dir: ${JSON.stringify(join(dir, 'jetstream'))} }`);
  if (options.monitoring) lines.push('http_port: -1');
  if (options.cluster) lines.push(...clusterBlock(options.cluster));
  lines.push(...(options.config ?? []));
  writeFileSync(join(dir, 'nats.conf'), `${lines.join('\n')}\n`);
  const child = launch(bin, ['-c', join(dir, 'nats.conf'), '--ports_file_dir', dir, ...(options.args ?? [])], natsServerEnv());
  try {
    const portsFile = join(dir, `nats-server_${child.pid}.ports`);
    const ports = await waitFor(child, () => (existsSync(portsFile) ? readPorts(portsFile) : undefined));
    const port = Number(new URL(ports.nats[0]!).port);
    await waitForPort(child, port);
    return { ...handle(child, dir, `nats://127.0.0.1:${port}`, port), monitorUrl: ports.monitoring?.[0], clusterUrl: ports.cluster?.[0] };
  } catch (err) {
    await terminate(child);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export interface NatsCluster {
  /** Client URL of each node (index = node); a restarted node keeps its URL. */
  urls: string[];
  /** The running server of each node; restart() replaces it. */
  nodes: RunningNatsServer[];
  /** Names of the client connections node `i` holds now (its /connz): where a named client is attached. */
  clientNames(i: number): Promise<string[]>;
  /** Crashes node `i` (SIGKILL) now; its routes and clients learn it from their closed sockets. */
  kill(i: number): void;
  /** Starts node `i` again on its client and route ports; resolves once the routes are back. */
  restart(i: number): Promise<void>;
  /** Resolves once every running node has a route to each other running node. */
  waitForRoutes(): Promise<void>;
  /** Stops every node. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a cluster of `size` nats-servers (default 3) with monitoring. Node 0 picks its route port;
 * each later node routes to those before it, so no port is guessed. Clients given one node's URL
 * learn the others from the servers' INFO (`connect_urls`).
 */
export async function startNatsCluster(options: { size?: number } = {}): Promise<NatsCluster> {
  const name = `dynasplit-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const nodes: RunningNatsServer[] = [];
  const down = new Set<number>();
  const waitForRoutes = async (): Promise<void> => {
    const up = nodes.filter((_, i) => !down.has(i));
    for (const node of up) {
      await poll(`${node.url} to have ${up.length - 1} routes`, async () =>
        ((await monitor<{ num_routes: number }>(node, 'routez'))?.num_routes === up.length - 1 ? true : undefined));
    }
  };
  try {
    for (let i = 0; i < (options.size ?? 3); i++) {
      nodes.push(await startNatsServer({ monitoring: true, cluster: { name, routes: nodes.map((n) => n.clusterUrl!) } }));
    }
    await waitForRoutes();
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    urls: nodes.map((n) => n.url),
    nodes,
    clientNames: async (i) => {
      const connz = await monitor<{ connections?: { name?: string }[] }>(nodes[i]!, 'connz');
      return (connz?.connections ?? []).map((c) => c.name ?? '');
    },
    kill: (i) => {
      down.add(i);
      nodes[i]!.kill9();
    },
    restart: async (i) => {
      const old = nodes[i]!;
      await old.stop();
      const routes = nodes.filter((_, j) => j !== i).map((n) => n.clusterUrl!);
      nodes[i] = await startNatsServer({ port: old.port, monitoring: true, cluster: { name, port: Number(new URL(old.clusterUrl!).port), routes } });
      down.delete(i);
      await waitForRoutes();
    },
    waitForRoutes,
    stop: () => (stopping ??= Promise.all(nodes.map((n) => n.stop())).then(() => undefined)),
  };
}

function clusterBlock(cluster: NonNullable<NatsServerOptions['cluster']>): string[] {
  const routes = (cluster.routes ?? []).map((r) => JSON.stringify(r)).join(', ');
  return ['cluster {', `  name: ${cluster.name}`, `  listen: "127.0.0.1:${cluster.port ?? -1}"`, `  routes: [${routes}]`, '}'];
}

/** A monitoring endpoint's JSON, or undefined while the server does not answer. */
async function monitor<T>(server: RunningNatsServer, endpoint: string): Promise<T | undefined> {
  if (!server.monitorUrl) throw new Error(`${server.url} was started without monitoring`);
  try {
    const response = await fetch(`${server.monitorUrl}/${endpoint}`, { signal: AbortSignal.timeout(1_000) });
    return response.ok ? (await response.json()) as T : undefined;
  } catch {
    return undefined;
  }
}

/** Polls `probe` until it returns a value; fails after START_TIMEOUT_MS. */
async function poll<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${START_TIMEOUT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
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

function launch(bin: string, args: string[], env: Record<string, string> = {}): SpawnedServer {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }) as SpawnedServer;
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

interface NatsPorts { nats: string[]; monitoring?: string[]; cluster?: string[] }

function readPorts(file: string): NatsPorts | undefined {
  try {
    const ports = JSON.parse(readFileSync(file, 'utf8')) as Partial<NatsPorts>;
    return ports.nats?.length ? { ...ports, nats: ports.nats } : undefined;
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
  /** Require credentials ([http] auth-enabled); an admin user is created first (INFLUX_ADMIN). */
  auth?: boolean;
}

/** The admin user of a server started with `auth`. */
export const INFLUX_ADMIN = { username: 'admin', password: 'admin-password' };

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
    if (!existsSync(config)) writeFileSync(config, influxConfig(dir, port, await freePort(), options.auth ?? false));
    const child = launch(bin, ['-config', config]);
    try {
      await waitFor(child, () => httpStatus(`http://127.0.0.1:${port}/ping`).then((s) => (s === 204 ? true : undefined)));
      const query = (q: string) => fetch(`http://127.0.0.1:${port}/query?${new URLSearchParams({ q, ...(options.auth ? { u: INFLUX_ADMIN.username, p: INFLUX_ADMIN.password } : {}) })}`, { method: 'POST' });
      // With auth on, 1.x lets the first user (an admin) be created without credentials.
      if (options.auth && !options.dir) await query(`CREATE USER "${INFLUX_ADMIN.username}" WITH PASSWORD '${INFLUX_ADMIN.password}' WITH ALL PRIVILEGES`);
      const created = await query(`CREATE DATABASE "${database}"`);
      if (!created.ok) throw new Error(`CREATE DATABASE failed: ${created.status} ${await created.text()}`);
      return { ...handle(child, dir, `http://127.0.0.1:${port}`, port), database };
    } catch (err) {
      await terminate(child);
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
      if (attempt >= 3 || options.port !== undefined) throw err;
    }
  }
}

function influxConfig(dir: string, httpPort: number, rpcPort: number, auth: boolean): string {
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
    `  auth-enabled = ${auth}`,
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
