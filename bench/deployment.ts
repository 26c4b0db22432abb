/**
 * What bench/durable.ts and bench/scale.ts share: a dynasplit broker, cloud workers and edge nodes as
 * separate OS processes (bin/dynasplit.js), a one-entry split policy, a process's resident memory
 * and CPU time from /proc (Linux), and warming the nodes up (with bench/pipeline-processes.ts).
 */
import { readFileSync } from 'node:fs';
import { connectMqtt } from '../common/index.ts';
import { configuration, encodePolicy } from '../policy/index.ts';
import { topics } from '../schemas/index.ts';
import { spawnDynasplit, type Spawned } from '../local-servers/index.ts';
import { freePort } from '../local-servers/index.ts';
import { inLanes } from './harness.ts';

/** ms a node may take to start (model inspection, sessions) on a loaded machine. */
const START_TIMEOUT_MS = 120_000;

export interface Nodes {
  mqttUrl: string;
  broker: Spawned;
  edges: Spawned[];
  clouds: Spawned[];
  stop(): Promise<void>;
}

export interface NodesOptions {
  model: string;
  path: string;
  edges: number;
  clouds: number;
  /** Extra flags: the broker's; each edge's (given its index). */
  brokerArgs?: string[];
  edgeArgs?: (index: number) => string[];
  /** Distinguishes the ids of one bench run's deployments. */
  tag: string;
}

export async function startNodes(o: NodesOptions): Promise<Nodes> {
  const port = await freePort();
  const mqttUrl = `mqtt://127.0.0.1:${port}`;
  const started: Spawned[] = [];
  const stop = async () => { for (const p of started.reverse()) await p.stop(); };
  try {
    const broker = spawnDynasplit(['broker', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn', ...(o.brokerArgs ?? [])]);
    started.push(broker);
    await broker.waitFor(new RegExp(mqttUrl.replaceAll('.', '\\.')), START_TIMEOUT_MS);
    const common = ['--mqtt', mqttUrl, '--model', `${o.model}=${o.path}`, '--threads', '1', '--log-level', 'info'];
    const clouds = Array.from({ length: o.clouds }, (_, i) => spawnDynasplit(['cloud', '--id', `bench-cloud-${o.tag}-${i}`, ...common]));
    const edges = Array.from({ length: o.edges }, (_, i) => spawnDynasplit(['edge', '--id', `bench-edge-${o.tag}-${i}`, ...common, ...(o.edgeArgs?.(i) ?? [])]));
    started.push(...clouds, ...edges);
    await Promise.all([...clouds.map((c) => c.waitFor(/cloud worker serving/, START_TIMEOUT_MS)), ...edges.map((e) => e.waitFor(/edge node serving/, START_TIMEOUT_MS))]);
    return { mqttUrl, broker, edges, clouds, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Publishes (retained) a one-entry policy: `model` split at `cut`, fp32. An empty `cut` clears it. */
export async function publishSplitPolicy(mqttUrl: string, model: string, cut: string): Promise<void> {
  const client = await connectMqtt(mqttUrl, { clientId: `bench-policy-${process.pid}` });
  try {
    const payload = cut ? Buffer.from(encodePolicy({
      version: 1, model, edge_class: 'default', rule: 'energy-first', entries: [{ configuration: configuration({ cut, codec: 'fp32' }) }],
    })) : Buffer.alloc(0);
    await client.publishAsync(topics.policy(model, 'default'), payload, { qos: 1, retain: true });
  } finally {
    await client.endAsync();
  }
}

export interface ProcessUsage {
  rssBytes: number;
  /** user + system CPU time, ms (10 ms ticks) */
  cpuMs: number;
  /** its system (kernel) part, ms */
  sysMs: number;
}

/** Resident memory (VmRSS) and CPU time of process `pid`, from /proc. */
export function processUsage(pid: number): ProcessUsage {
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ms = (ticks: number) => (ticks * 1000) / CLOCK_TICKS_PER_S;
  return { rssBytes: rssKb * 1024, cpuMs: ms(Number(fields[11]) + Number(fields[12])), sysMs: ms(Number(fields[12])) };
}

/** USER_HZ: 100 on every Linux this runs on (sysconf(_SC_CLK_TCK) is not reachable from Node). */
const CLOCK_TICKS_PER_S = 100;

/** Blocks of requests sent to warm the nodes up, and the requests in flight while they run. */
export interface WarmUp {
  blocks: number;
  blockSize: number;
  inFlight: number;
}

/**
 * Sends `blocks` blocks of `blockSize` requests, `inFlight` at a time (`request(lane)` sends one):
 * a deployment that has run for a while has its code optimised by V8, which the nodes' first few
 * thousand requests do not (their rate rises block by block), and its first burst at a high rate
 * runs slower still (the scale bench's first 1,000-sensor seconds: docs/performance.md). Resolves
 * with the rate over all blocks and per block, requests/s.
 */
export async function warmUp(request: (lane: number) => Promise<unknown>, o: WarmUp): Promise<{ requestsPerSecond: number; blocksRequestsPerSecond: number[] }> {
  const blocks: number[] = [];
  const started = performance.now();
  for (let b = 0; b < o.blocks; b++) {
    const blockStarted = performance.now();
    await inLanes(o.blockSize, o.inFlight, request);
    blocks.push(o.blockSize / ((performance.now() - blockStarted) / 1000));
  }
  return { requestsPerSecond: (o.blocks * o.blockSize) / ((performance.now() - started) / 1000), blocksRequestsPerSecond: blocks };
}
