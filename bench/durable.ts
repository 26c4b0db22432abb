/**
 * The durable path against the plain one, in the deployment's shape: the same broker, cloud worker and
 * edge (separate processes, vgg16-tiny split at pool3), once plain and once durable (broker
 * `--persistence DIR`, edge `--state-dir DIR`: every frame journaled and flushed before its PUBACK,
 * the journal compacted as it grows). Frames/s with IN_FLIGHT in flight, the round trip's p50,
 * p99 and maximum (a compaction that stopped the node would show there), and the CPU time per frame
 * of each process (/proc), so that what durability costs shows where it is spent. Both modes are
 * measured on warm nodes (after WARM_UP untimed requests). The goal: durable >= 0.5x.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectFrameClient, type Answer, type FrameClient } from '../client/index.ts';
import { percentile } from '../common/index.ts';
import { inspectModel, resolveModel } from '../model/index.ts';
import type { TensorProperties } from '../schemas/index.ts';
import { syntheticInputs } from '../workload/index.ts';
import { processUsage, publishSplitPolicy, startNodes } from './deployment.ts';
import { inLanes, printTable } from './harness.ts';

const MODEL = 'vgg16-tiny';
const CUT = 'features.pool3';
const CACHE = join(import.meta.dirname, '..', '.cache', 'bench-models');
const IN_FLIGHT = 16;
/** Sensor ids: under the edge's per-sensor in-flight limit (default 8). */
const SENSORS = 4;
/** Requests per mode: enough for compactions of the journal (~13 KB per request, 16 MiB segments: two or three). */
const REQUESTS = 3000;
/**
 * Untimed requests before them: V8 optimises the nodes' code over the first few thousand requests
 * (the pipeline bench's warm-up), and a ratio of two cold runs says little of a node that runs for hours.
 */
const WARM_UP = 2000;
const TIMEOUT_MS = 120_000;

/** CPU time per frame (ms, /proc utime + stime) of each process; sensors: the bench process. */
export interface CpuPerFrame { broker: number; edge: number; worker: number; sensors: number }

export interface DurableRow { mode: 'plain' | 'durable'; requests: number; framesPerSecond: number; p50Ms: number; p99Ms: number; maxMs: number; cpuMsPerFrame: CpuPerFrame }

export async function benchDurable(): Promise<DurableRow[]> {
  const path = await resolveModel(MODEL, { cacheDir: CACHE });
  const { tensor } = syntheticInputs((await inspectModel(path)).input.shape, 3, 1)[0];
  const rows: DurableRow[] = [];
  for (const mode of ['plain', 'durable'] as const) {
    process.stderr.write(`durable bench: ${mode}...\n`);
    rows.push(await runMode(mode, path, tensor));
  }
  const [plain, durable] = rows;
  printTable(`durable path (${MODEL} at ${CUT}, separate processes, ${IN_FLIGHT} in flight, after ${WARM_UP} untimed): broker --persistence + edge --state-dir against plain`,
    ['mode', 'requests', 'frames/s', 'ratio', 'p50 ms', 'p99 ms', 'max ms'],
    rows.map((r) => [r.mode, r.requests, r.framesPerSecond.toFixed(0), (r.framesPerSecond / plain.framesPerSecond).toFixed(2), r.p50Ms.toFixed(1), r.p99Ms.toFixed(1), r.maxMs.toFixed(0)]));
  printTable('durable path: CPU time per frame of each process in that run (measured, ms; /proc utime + stime, 10 ms ticks; sensors: the bench process)',
    ['mode', 'broker', 'edge', 'worker', 'sensors', 'total'],
    rows.map(({ mode, cpuMsPerFrame: c }) => [mode, ...[c.broker, c.edge, c.worker, c.sensors, c.broker + c.edge + c.worker + c.sensors].map((v) => v.toFixed(3))]));
  console.log(`durable / plain: ${(durable.framesPerSecond / plain.framesPerSecond).toFixed(2)}x (goal >= 0.5x)`);
  return rows;
}

async function runMode(mode: 'plain' | 'durable', path: string, tensor: TensorProperties): Promise<DurableRow> {
  const state = mkdtempSync(join(tmpdir(), 'dynasplit-bench-durable-'));
  const durable = mode === 'durable';
  const nodes = await startNodes({
    model: MODEL, path, edges: 1, clouds: 1, tag: `${mode}-${process.pid}`,
    brokerArgs: durable ? ['--persistence', join(state, 'broker')] : [],
    edgeArgs: () => (durable ? ['--state-dir', join(state, 'edge')] : []),
  });
  const sensors: FrameClient[] = [];
  try {
    for (let i = 0; i < SENSORS; i++) sensors.push(await connectFrameClient({ mqttUrl: nodes.mqttUrl, sensorId: `bench-durable-${mode}-${i}`, timeoutMs: TIMEOUT_MS }));
    await publishSplitPolicy(nodes.mqttUrl, MODEL, CUT);
    await followed(sensors[0], tensor);
    await inLanes(WARM_UP, IN_FLIGHT, (lane) => split(sensors[lane % SENSORS], tensor));
    const pids = { broker: nodes.broker.proc.pid!, edge: nodes.edges[0].proc.pid!, worker: nodes.clouds[0].proc.pid! };
    const cpuBefore = cpuMs(pids);
    const started = performance.now();
    const answers = await inLanes(REQUESTS, IN_FLIGHT, (lane) => split(sensors[lane % SENSORS], tensor));
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = cpuMs(pids);
    const rt = answers.map((a) => a.roundTripMs);
    const perFrame = (key: keyof CpuPerFrame) => (cpuAfter[key] - cpuBefore[key]) / answers.length;
    return {
      mode, requests: answers.length, framesPerSecond: answers.length / seconds, p50Ms: percentile(rt, 0.5), p99Ms: percentile(rt, 0.99), maxMs: Math.max(...rt),
      cpuMsPerFrame: { broker: perFrame('broker'), edge: perFrame('edge'), worker: perFrame('worker'), sensors: perFrame('sensors') },
    };
  } finally {
    await Promise.all(sensors.map((s) => s.close()));
    await nodes.stop();
    rmSync(state, { recursive: true, force: true });
  }
}

/** CPU time so far (ms) of the nodes and of this process (the sensors). */
function cpuMs(pids: { broker: number; edge: number; worker: number }): CpuPerFrame {
  const own = process.cpuUsage();
  return {
    broker: processUsage(pids.broker).cpuMs, edge: processUsage(pids.edge).cpuMs, worker: processUsage(pids.worker).cpuMs,
    sensors: (own.user + own.system) / 1000,
  };
}

/** Waits until the edge runs the split (it subscribes to policies as it starts), then warms it up. */
async function followed(sensor: FrameClient, tensor: TensorProperties): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    const { result } = await sensor.request({ model: MODEL, budget_ms: TIMEOUT_MS, tensor });
    if (result.configuration?.cut === CUT && !result.edge_fallback) {
      for (let i = 0; i < 5; i++) await split(sensor, tensor);
      return;
    }
  }
  throw new Error(`the edge did not follow the bench policy (${CUT}) within 200 requests`);
}

/** One request; anything but the split's answer fails the bench. */
async function split(sensor: FrameClient, tensor: TensorProperties): Promise<Answer> {
  const answer = await sensor.request({ model: MODEL, budget_ms: TIMEOUT_MS, tensor });
  const { result } = answer;
  if (result.error?.code || result.edge_fallback) throw new Error(`bench request failed: ${result.error?.code ?? 'edge fallback'} ${result.error?.message ?? ''}`);
  return answer;
}
