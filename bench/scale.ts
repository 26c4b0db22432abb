/**
 * How cost grows with the number of sensors, in the deployment's shape: one broker, two edge nodes
 * and one cloud worker (separate processes, vgg16-tiny split at pool3), and this process as a swarm
 * of N sensors, each its own MQTT connection sending one frame a second (phases spread over the
 * second) for STEP_S seconds, at N = 10, 100 and 1,000. Per step: frames answered, the end-to-end
 * overhead (the sensor's round trip minus the compute the nodes report) p50 / p99, the broker's and
 * the edges' resident memory (VmRSS at the end of the step) and CPU time per frame answered
 * (/proc utime + stime over the step). The goal: from 100 to 1,000 sensors, cost per frame grows
 * at most 1.5x. `--step-s N` sets the step's length; `--sensors 10,100` the steps; `--period-s P` the
 * seconds between a sensor's frames (default 1; on a machine that cannot carry 1,000 frames/s, a
 * longer period at 1,000 sensors tells the cost of the connections from that of the frames).
 * Before the steps the nodes are warmed up as in the pipeline bench (WARM_UP: 5,000 frames, 16 in
 * flight): cold, the first seconds at 1,000 frames/s queued frames for 0.15-0.45 s at the edges, the
 * start of the nodes and not the number of connections. `--warm-up-blocks 0` skips it.
 */
import { join } from 'node:path';
import { connectFrameClient, type FrameClient } from '../client/index.ts';
import { percentile } from '../common/index.ts';
import { inspectModel, resolveModel } from '../model/index.ts';
import type { TensorProperties } from '../schemas/index.ts';
import { syntheticInputs } from '../workload/index.ts';
import { processUsage, publishSplitPolicy, startNodes, warmUp, type Nodes, type ProcessUsage, type WarmUp } from './deployment.ts';
import { printTable } from './harness.ts';

const MODEL = 'vgg16-tiny';
const CUT = 'features.pool3';
const CACHE = join(import.meta.dirname, '..', '.cache', 'bench-models');
/** ms a frame may take: far beyond what a step lasts, so a slow answer is measured, not lost. */
const BUDGET_MS = 60_000;
/** Sensors connected at once while a step sets up (each is an MQTT CONNECT and SUBSCRIBE). */
const CONNECT_BATCH = 50;
/** The warm-up before the steps: the pipeline bench's (bench/pipeline-processes.ts). */
const WARM_UP: WarmUp = { blocks: 5, blockSize: 1000, inFlight: 16 };
/** Sensors the warm-up's frames come from: 16 in flight stay within the edge's per-sensor limit (8). */
const WARM_UP_SENSORS = 4;

export interface ScaleRow {
  sensors: number;
  sent: number;
  answered: number;
  /** Frames not answered by the split: error codes, `edge_fallback`, `no answer` (the client gave up). */
  failed: Record<string, number>;
  framesPerSecond: number;
  overheadP50Ms: number;
  overheadP99Ms: number;
  brokerRssMb: number;
  edgesRssMb: number;
  brokerCpuMsPerFrame: number;
  edgesCpuMsPerFrame: number;
}

export async function benchScale(argv: readonly string[] = process.argv): Promise<ScaleRow[]> {
  const stepS = Number(flag(argv, '--step-s') ?? 20);
  const steps = (flag(argv, '--sensors') ?? '10,100,1000').split(',').map(Number);
  const periodS = Number(flag(argv, '--period-s') ?? 1);
  const warmUpBlocks = Number(flag(argv, '--warm-up-blocks') ?? WARM_UP.blocks);
  const path = await resolveModel(MODEL, { cacheDir: CACHE });
  const { tensor } = syntheticInputs((await inspectModel(path)).input.shape, 3, 1)[0];
  const nodes = await startNodes({ model: MODEL, path, edges: 2, clouds: 1, tag: `scale-${process.pid}` });
  const rows: ScaleRow[] = [];
  let warm: number[] = [];
  try {
    await publishSplitPolicy(nodes.mqttUrl, MODEL, CUT);
    await followed(nodes, tensor);
    if (warmUpBlocks > 0) warm = await warmNodes(nodes, tensor, { ...WARM_UP, blocks: warmUpBlocks });
    for (const n of steps) {
      process.stderr.write(`scale bench: ${n} sensors, a frame every ${periodS} s each, for ${stepS} s...\n`);
      rows.push(await step(nodes, n, { stepS, periodS }, tensor));
    }
  } finally {
    await nodes.stop();
  }
  printTable(`scale (${MODEL} at ${CUT}; one broker, two edges, one worker, separate processes; a frame every ${periodS} s per sensor for ${stepS} s)`,
    ['sensors', 'sent', 'answered', 'frames/s', 'overhead p50 ms', 'p99 ms', 'broker RSS MB', 'edges RSS MB', 'broker CPU ms/frame', 'edges CPU ms/frame'],
    rows.map((r) => [r.sensors, r.sent, r.answered, r.framesPerSecond.toFixed(0), r.overheadP50Ms.toFixed(2), r.overheadP99Ms.toFixed(1),
      r.brokerRssMb.toFixed(0), r.edgesRssMb.toFixed(0), r.brokerCpuMsPerFrame.toFixed(3), r.edgesCpuMsPerFrame.toFixed(3)]));
  console.log(warm.length > 0
    ? `nodes warmed up first: ${warmUpBlocks} x ${WARM_UP.blockSize} frames, ${WARM_UP.inFlight} in flight (requests/s per block: ${warm.map((r) => r.toFixed(0)).join(' ')})`
    : 'nodes not warmed up (--warm-up-blocks 0): the first step at a high rate includes their warm-up');
  for (const r of rows) if (Object.keys(r.failed).length > 0) console.log(`${r.sensors} sensors, not answered by the split: ${JSON.stringify(r.failed)}`);
  const at = (n: number) => rows.find((r) => r.sensors === n);
  const [hundred, thousand] = [at(100), at(1000)];
  if (hundred && thousand) {
    const growth = (f: (r: ScaleRow) => number) => (f(thousand) / f(hundred)).toFixed(2);
    console.log(`100 -> 1,000 sensors, per frame: broker CPU ${growth((r) => r.brokerCpuMsPerFrame)}x, edges CPU ${growth((r) => r.edgesCpuMsPerFrame)}x, ` +
      `overhead p50 ${growth((r) => r.overheadP50Ms)}x, p99 ${growth((r) => r.overheadP99Ms)}x (goal <= 1.5x)`);
  }
  return rows;
}

async function step(nodes: Nodes, n: number, pace: { stepS: number; periodS: number }, tensor: TensorProperties): Promise<ScaleRow> {
  const frames = Math.max(1, Math.round(pace.stepS / pace.periodS));
  const periodMs = pace.periodS * 1000;
  const sensors: FrameClient[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    for (let i = 0; i < n; i += CONNECT_BATCH) {
      sensors.push(...await Promise.all(Array.from({ length: Math.min(CONNECT_BATCH, n - i) }, (_, j) =>
        connectFrameClient({ mqttUrl: nodes.mqttUrl, sensorId: `scale-${n}-${i + j}`, timeoutMs: BUDGET_MS }))));
    }
    const pids = { broker: nodes.broker.proc.pid!, edges: nodes.edges.map((e) => e.proc.pid!) };
    const before = usage(pids);
    // Each answer is reduced to its overhead as it comes: this process is the sensors, and holding
    // 20,000 decoded results made its heap grow through the step, and its full garbage collections
    // (~60 ms) stalled every frame in flight, which the p99 then measured (docs/performance.md).
    const overhead: number[] = [];
    const failed: Record<string, number> = {};
    const fail = (why: string) => { failed[why] = (failed[why] ?? 0) + 1; };
    let sent = 0;
    let outstanding = 0;
    let drained: (() => void) | undefined;
    const started = performance.now();
    const send = (sensor: FrameClient) => {
      sent++;
      outstanding++;
      sensor.request({ model: MODEL, budget_ms: BUDGET_MS, tensor }).then(({ result, roundTripMs }) => {
        const why = result.error?.code || (result.edge_fallback ? 'edge_fallback' : '');
        if (why) fail(why);
        else overhead.push(roundTripMs - (result.latency?.edge_compute_ms ?? 0) - (result.latency?.cloud_compute_ms ?? 0));
      }, () => fail('no answer')).finally(() => {
        if (--outstanding === 0) drained?.();
      });
    };
    // Each sensor sends its frames one period apart, its phase spread over the period.
    await new Promise<void>((resolve) => {
      let finished = 0;
      sensors.forEach((sensor, i) => timers.push(setTimeout(() => {
        let count = 0;
        send(sensor);
        const every = setInterval(() => {
          if (++count >= frames) {
            clearInterval(every);
            if (++finished === sensors.length) resolve();
            return;
          }
          send(sensor);
        }, periodMs);
        timers.push(every);
      }, (i * periodMs) / n)));
    });
    if (outstanding > 0) await new Promise<void>((resolve) => { drained = resolve; });
    const seconds = (performance.now() - started) / 1000;
    const after = usage(pids);
    const ok = overhead.length;
    const mb = (bytes: number) => bytes / 2 ** 20;
    return {
      sensors: n, sent, answered: ok, failed, framesPerSecond: ok / seconds,
      overheadP50Ms: percentile(overhead, 0.5), overheadP99Ms: percentile(overhead, 0.99),
      brokerRssMb: mb(after.broker.rssBytes), edgesRssMb: mb(after.edges.rssBytes),
      brokerCpuMsPerFrame: (after.broker.cpuMs - before.broker.cpuMs) / Math.max(1, ok),
      edgesCpuMsPerFrame: (after.edges.cpuMs - before.edges.cpuMs) / Math.max(1, ok),
    };
  } finally {
    timers.forEach((t) => clearTimeout(t));
    for (let i = 0; i < sensors.length; i += CONNECT_BATCH) await Promise.all(sensors.slice(i, i + CONNECT_BATCH).map((s) => s.close()));
  }
}

function usage(pids: { broker: number; edges: number[] }): { broker: ProcessUsage; edges: ProcessUsage } {
  const edges = pids.edges.map(processUsage).reduce((a, b) => ({ rssBytes: a.rssBytes + b.rssBytes, cpuMs: a.cpuMs + b.cpuMs, sysMs: a.sysMs + b.sysMs }));
  return { broker: processUsage(pids.broker), edges };
}

/** Warms the nodes up (WARM_UP) from WARM_UP_SENSORS sensors of its own; the rate of each block, requests/s. */
async function warmNodes(nodes: Nodes, tensor: TensorProperties, o: WarmUp): Promise<number[]> {
  process.stderr.write(`scale bench: warming the nodes up, ${o.blocks} x ${o.blockSize} frames, ${o.inFlight} in flight...\n`);
  const sensors = await Promise.all(Array.from({ length: WARM_UP_SENSORS }, (_, i) =>
    connectFrameClient({ mqttUrl: nodes.mqttUrl, sensorId: `scale-warm-up-${process.pid}-${i}`, timeoutMs: BUDGET_MS })));
  try {
    const request = (lane: number) => sensors[lane % sensors.length].request({ model: MODEL, budget_ms: BUDGET_MS, tensor });
    return (await warmUp(request, o)).blocksRequestsPerSecond;
  } finally {
    await Promise.all(sensors.map((s) => s.close()));
  }
}

/** Waits until both edges run the split (each subscribes to policies as it starts). */
async function followed(nodes: Nodes, tensor: TensorProperties): Promise<void> {
  const sensor = await connectFrameClient({ mqttUrl: nodes.mqttUrl, sensorId: `scale-warmup-${process.pid}`, timeoutMs: BUDGET_MS });
  try {
    const following = new Set<string>();
    for (let tries = 0; tries < 400 && following.size < nodes.edges.length; tries++) {
      const { result } = await sensor.request({ model: MODEL, budget_ms: BUDGET_MS, tensor });
      if (result.configuration?.cut === CUT && !result.edge_fallback) following.add(result.edge_id);
    }
    if (following.size < nodes.edges.length) throw new Error(`only ${following.size} of ${nodes.edges.length} edges followed the bench policy (${CUT})`);
  } finally {
    await sensor.close();
  }
}

function flag(argv: readonly string[], name: string): string | undefined {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : undefined;
}
