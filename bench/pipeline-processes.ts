/**
 * The pipeline in the deployment's shape: `dynasplit broker`, `dynasplit edge` and `dynasplit cloud`
 * as separate OS processes (nats-server too for NATS), and this process as the sensor, over
 * loopback TCP. For each model, cut and transport:
 *  - overhead per request: the sensor's round trip minus the head and tail compute the nodes report
 *    (requests one at a time), p50 / p95;
 *  - where the time goes, per stage (p50 of each stage over the same requests), from the Result's
 *    latency fields (schemas/pipeline.proto `Latency`);
 *  - vgg16-tiny only: requests per second with 16 in flight, next to head + tail run back to back
 *    in one process (no messaging).
 * The tiny model's figures are taken on warm nodes, as a deployment that runs for hours has them:
 * after WARM_UP_BLOCKS x 1,000 requests (V8 optimises the nodes' code over the first few thousand;
 * the table prints each block's rate), with the first requests after start in a row of their own.
 * VGG16 (each request ~0.15-0.25 s of compute) has the first requests after start in one row and, after
 * VGG16_WARM_UP more, the same number again in a warm row.
 * VGG16 at pool3 and pool5 only with `--full` (each request takes ~0.25 s of compute on this
 * machine). With `--json`, bench/run.ts prints this report and the one-process one as one JSON line,
 * the last of the section's output on stdout, for machines.
 * `--mosquitto` puts Mosquitto in the broker's place (to tell the broker's share from the rest).
 * Every process shares this machine's cores, so the figures include their contention.
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { connectFrameClient, type Answer, type FrameClient } from '../client/index.ts';
import { percentile } from '../common/index.ts';
import { inspectModel, resolveModel } from '../model/index.ts';
import { Frame, type TensorProperties } from '../schemas/index.ts';
import { syntheticInputs } from '../workload/index.ts';
import { spawnDynasplit, type Spawned } from '../local-servers/index.ts';
import { freePort, natsServerEnv, startMosquitto, startNatsServer } from '../local-servers/index.ts';
import { processUsage, publishSplitPolicy, warmUp } from './deployment.ts';
import { envText, inLanes, printTable } from './harness.ts';
import { startWireFloor } from './wire-floor.ts';
import { inProcess, type PipelineCase } from './in-process.ts';

const CACHE = join(import.meta.dirname, '..', '.cache', 'bench-models');
/** Frames in flight during the throughput run (spread over SENSORS sensor ids). */
const IN_FLIGHT = 16;
/** Sensor ids of the throughput run: stays under the edge's per-sensor in-flight limit (default 8). */
const SENSORS = 4;
/** Requests of the timed throughput run. */
const THROUGHPUT_REQUESTS = 5000;
/**
 * Blocks of 1,000 requests (16 in flight) sent before the tiny model's figures are taken: a deployment
 * runs for hours, and V8 optimises the nodes' code only over the first few thousand requests (here
 * the rate rose block by block over the first ~4,000, from ~0.5x its steady rate). Each block's rate
 * is printed.
 */
const WARM_UP_BLOCKS = 5;
const WARM_UP_BLOCK = 1000;
/** VGG16: requests between the row of the first ones after start and the warm row. */
const VGG16_WARM_UP = 10;
/** Compute p50 (ms) from which a case also gets the wire floor after idle pauses of that length. */
const IDLE_FLOOR_MIN_GAP_MS = 10;
/** ms a bench request may take; far beyond any result here. */
const REQUEST_TIMEOUT_MS = 120_000;

type Transport = 'mqtt' | 'nats';

/** Result latency fields, in the order the stages happen on the way. */
const STAGES = ['frame_ms', 'edge_queue_ms', 'preprocess_ms', 'edge_compute_ms', 'encode_ms', 'transfer_ms', 'cloud_queue_ms', 'cloud_decode_ms',
  'cloud_compute_ms', 'cloud_encode_ms', 'result_ms'] as const;
type Stage = (typeof STAGES)[number];

export interface CaseReport {
  model: string;
  cut: string;
  transport: Transport;
  requests: number;
  computeP50Ms: number;
  roundTripP50Ms: number;
  overheadP50Ms: number;
  overheadP95Ms: number;
  /** Bytes of the sensor's Frame and of the cut tensor on the link (p50 of the Results' tensor_bytes). */
  frameBytes: number;
  tensorBytes: number;
  /** The wire's own cost for those bytes and hops (bench/wire-floor.ts), measured after the cases, ms. */
  wireFloorMs?: number;
  /**
   * The same with each exchange after an idle pause as long as the case's compute (VGG16 only: the
   * processes on a request's way sit idle that long, and waking them costs time), ms.
   */
  idleWireFloorMs?: number;
  /** p50 per stage, ms; `other_ms`: round trip minus every stage (the result's encoding and its way back). */
  stagesP50Ms: Record<Stage | 'other_ms', number>;
  /** vgg16-tiny only: requests/s with IN_FLIGHT in flight, and the stages' p50 during that run. */
  requestsPerSecond?: number;
  /**
   * The in-process baseline (head + tail back to back) measured just before and just after that run;
   * the run's ratio is against the faster of the two.
   */
  bracketRequestsPerSecond?: [number, number];
  /** The same during the untimed warm-up before it, over all of it and per block of WARM_UP_BLOCK. */
  warmUpRequestsPerSecond?: number;
  warmUpBlocksRequestsPerSecond?: number[];
  /** Whether the figures above come from warm nodes (after the warm-up), or from the first requests after the nodes started. */
  warm: boolean;
  /** Requests the nodes had served before the warm figures (the first ones and the warm-up). */
  servedBefore?: number;
  /** Overhead p50 / p95 of the first requests after the nodes started (before the warm-up), ms. */
  coldOverheadP50Ms?: number;
  coldOverheadP95Ms?: number;
  loadedStagesP50Ms?: Record<Stage | 'other_ms', number>;
  /** vgg16-tiny only: CPU time (user + system) per request of each process during that run, ms. */
  loadedCpuMsPerRequest?: Record<string, number>;
}

export interface ProcessesReport {
  machine: string;
  broker: 'dynasplit' | 'mosquitto';
  /** The environment nats-server ran with (the deploy kit's drop-in, local-servers natsServerEnv). */
  natsServerEnv: Record<string, string>;
  inProcess: Record<string, { computeMs: number; requestsPerSecond: number }>;
  cases: CaseReport[];
}

export async function benchPipelineProcesses(argv: readonly string[] = process.argv): Promise<ProcessesReport> {
  const full = argv.includes('--full');
  const cases: PipelineCase[] = [
    { model: 'vgg16-tiny', cut: 'features.pool3', requests: 200 },
    ...(full ? [{ model: 'vgg16', cut: 'features.pool3', requests: 20 }, { model: 'vgg16', cut: 'features.pool5', requests: 20 }] : []),
  ];
  const report: ProcessesReport = {
    machine: machine(), broker: argv.includes('--mosquitto') ? 'mosquitto' : 'dynasplit', natsServerEnv: natsServerEnv(), inProcess: {}, cases: [],
  };
  const deployment = await startDeployment(argv.includes('--mosquitto'));
  try {
    for (const c of cases) {
      process.stderr.write(`pipeline bench (separate processes): ${c.model} at ${c.cut}...\n`);
      const path = await resolveModel(c.model, { cacheDir: CACHE });
      report.inProcess[`${c.model}@${c.cut}`] ??= await inProcess(CACHE, path, c);
      for (const transport of ['mqtt', 'nats'] as const) report.cases.push(await overProcesses(deployment, path, c, transport));
    }
  } finally {
    await deployment.stop();
  }
  await measureWireFloors(report.cases);
  printReport(report);
  return report;
}

interface Deployment {
  mqttUrl: string;
  natsUrl: string;
  /** The servers' processes, whose CPU time the throughput run reports. */
  processes: Record<string, number>;
  stop(): Promise<void>;
}

async function startDeployment(mosquitto: boolean): Promise<Deployment> {
  const nats = await startNatsServer();
  if (mosquitto) {
    const server = await startMosquitto();
    return { mqttUrl: server.url, natsUrl: nats.url, processes: { mosquitto: server.pid, 'nats-server': nats.pid }, stop: async () => { await server.stop(); await nats.stop(); } };
  }
  const port = await freePort();
  const mqttUrl = `mqtt://127.0.0.1:${port}`;
  const broker = spawnDynasplit(['broker', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn']);
  try {
    await broker.waitFor(new RegExp(mqttUrl.replaceAll('.', '\\.')));
  } catch (err) {
    await broker.stop();
    await nats.stop();
    throw err;
  }
  return {
    mqttUrl,
    natsUrl: nats.url,
    processes: { broker: broker.proc.pid!, 'nats-server': nats.pid },
    stop: async () => {
      await broker.stop();
      await nats.stop();
    },
  };
}

async function overProcesses(d: Deployment, path: string, c: PipelineCase, transport: Transport): Promise<CaseReport> {
  const ids = `${transport}-${c.model}-${process.pid}`;
  const common = ['--mqtt', d.mqttUrl, '--nats', d.natsUrl, '--transport', transport, '--model', `${c.model}=${path}`, '--threads', '1', '--log-level', 'info'];
  const nodes: Spawned[] = [
    spawnDynasplit(['cloud', '--id', `bench-cloud-${ids}`, ...common]),
    spawnDynasplit(['edge', '--id', `bench-edge-${ids}`, ...common]),
  ];
  const sensors: FrameClient[] = [];
  try {
    await Promise.all([nodes[0].waitFor(/cloud worker serving/, REQUEST_TIMEOUT_MS), nodes[1].waitFor(/edge node serving/, REQUEST_TIMEOUT_MS)]);
    for (let i = 0; i < SENSORS; i++) sensors.push(await connectFrameClient({ mqttUrl: d.mqttUrl, sensorId: `bench-${ids}-${i}`, timeoutMs: REQUEST_TIMEOUT_MS }));
    const { tensor } = syntheticInputs((await inspectModel(path)).input.shape, 3, 1)[0];
    await applyPolicy(d.mqttUrl, c, sensors[0], tensor);
    const frameBytes = Frame.encode({ model: c.model, tensor }).finish().length;
    const oneAtATime = async () => {
      const answers: Answer[] = [];
      for (let i = 0; i < c.requests; i++) answers.push(await send(sensors[0], c.model, tensor));
      return answers;
    };
    const cold = summarize(c, transport, await oneAtATime(), frameBytes, false);
    const coldOverhead = { coldOverheadP50Ms: cold.overheadP50Ms, coldOverheadP95Ms: cold.overheadP95Ms };
    if (c.model !== 'vgg16-tiny') {
      for (let i = 0; i < VGG16_WARM_UP; i++) await send(sensors[0], c.model, tensor);
      return { ...summarize(c, transport, await oneAtATime(), frameBytes, true), servedBefore: c.requests + VGG16_WARM_UP, ...coldOverhead };
    }
    const warmUp = await warmUpNodes(sensors, c.model, tensor);
    const report = summarize(c, transport, await oneAtATime(), frameBytes, true);
    const processes = { ...d.processes, edge: nodes[1].proc.pid!, worker: nodes[0].proc.pid! };
    // The baseline again just before and just after the timed run: the machine's speed drifts over
    // the minutes between the first baseline and this run, and the ratio is taken against these.
    const bracketBefore = await inProcess(CACHE, path, c);
    const loaded = await throughput(sensors, c.model, tensor, processes);
    const bracketAfter = await inProcess(CACHE, path, c);
    return {
      ...report,
      servedBefore: c.requests + WARM_UP_BLOCKS * WARM_UP_BLOCK,
      ...coldOverhead,
      ...warmUp,
      requestsPerSecond: loaded.requestsPerSecond,
      bracketRequestsPerSecond: [bracketBefore.requestsPerSecond, bracketAfter.requestsPerSecond],
      loadedStagesP50Ms: stagesP50(loaded.answers),
      loadedCpuMsPerRequest: loaded.cpuMsPerRequest,
    };
  } finally {
    await Promise.all(sensors.map((s) => s.close()));
    await publishSplitPolicy(d.mqttUrl, c.model, '');
    for (const node of nodes.reverse()) await node.stop();
  }
}

/** One request; a result that is not the split (an error, or the edge ran the tail) fails the bench. */
async function send(sensor: FrameClient, model: string, tensor: TensorProperties): Promise<Answer> {
  const answer = await sensor.request({ model, budget_ms: REQUEST_TIMEOUT_MS, tensor });
  const { result } = answer;
  if (result.error?.code || result.edge_fallback) throw new Error(`bench request failed: ${result.error?.code ?? 'edge fallback'} ${result.error?.message ?? ''}`);
  return answer;
}

/** Publishes a one-entry policy (the split at c.cut, fp32) and waits until the edge follows it. */
async function applyPolicy(mqttUrl: string, c: PipelineCase, sensor: FrameClient, tensor: TensorProperties): Promise<void> {
  await publishSplitPolicy(mqttUrl, c.model, c.cut);
  // The edge subscribes to policies as it starts: its first results may predate the policy.
  for (let tries = 0; tries < 200; tries++) {
    const { result } = await sensor.request({ model: c.model, budget_ms: REQUEST_TIMEOUT_MS, tensor });
    if (result.configuration?.cut === c.cut && !result.edge_fallback) {
      for (let i = 0; i < 3; i++) await send(sensor, c.model, tensor); // warm-up on the split
      return;
    }
  }
  throw new Error(`the edge did not follow the bench policy (${c.cut}) within 200 requests`);
}


/** Sends `count` requests, IN_FLIGHT at a time spread over the sensors; resolves with their answers. */
function load(sensors: FrameClient[], model: string, tensor: TensorProperties, count: number): Promise<Answer[]> {
  return inLanes(count, IN_FLIGHT, (lane) => send(sensors[lane % sensors.length], model, tensor));
}

/** WARM_UP_BLOCKS blocks of WARM_UP_BLOCK requests, untimed as far as the report goes; each block's rate. */
async function warmUpNodes(sensors: FrameClient[], model: string, tensor: TensorProperties):
  Promise<{ warmUpRequestsPerSecond: number; warmUpBlocksRequestsPerSecond: number[] }> {
  const rates = await warmUp((lane) => send(sensors[lane % sensors.length], model, tensor), { blocks: WARM_UP_BLOCKS, blockSize: WARM_UP_BLOCK, inFlight: IN_FLIGHT });
  return { warmUpRequestsPerSecond: rates.requestsPerSecond, warmUpBlocksRequestsPerSecond: rates.blocksRequestsPerSecond };
}

/**
 * Requests/s with IN_FLIGHT requests in flight over THROUGHPUT_REQUESTS requests, and the CPU time per
 * request of this process (the sensors) and of each of `processes` (name -> pid) over the run.
 */
async function throughput(sensors: FrameClient[], model: string, tensor: TensorProperties, processes: Record<string, number>):
  Promise<{ requestsPerSecond: number; answers: Answer[]; cpuMsPerRequest: Record<string, number> }> {
  const before = Object.entries(processes).map(([name, pid]) => [name, processUsage(pid).cpuMs] as const);
  const self = process.cpuUsage();
  const started = performance.now();
  const answers = await load(sensors, model, tensor, THROUGHPUT_REQUESTS);
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(self);
  const cpuMsPerRequest: Record<string, number> = { sensors: (used.user + used.system) / 1000 / THROUGHPUT_REQUESTS };
  for (const [name, cpuMs] of before) cpuMsPerRequest[name] = (processUsage(processes[name]!).cpuMs - cpuMs) / THROUGHPUT_REQUESTS;
  return { requestsPerSecond: THROUGHPUT_REQUESTS / (wallMs / 1000), answers, cpuMsPerRequest };
}

/** p50 of each stage; other_ms: the round trip minus every stage. */
function stagesP50(answers: Answer[]): Record<Stage | 'other_ms', number> {
  const stage = (a: Answer, s: Stage): number => a.result.latency?.[s] ?? 0;
  const p50 = Object.fromEntries(STAGES.map((s) => [s, percentile(answers.map((a) => stage(a, s)), 0.5)])) as Record<Stage | 'other_ms', number>;
  p50.other_ms = percentile(answers.map((a) => a.roundTripMs - STAGES.reduce((sum, s) => sum + stage(a, s), 0)), 0.5);
  return p50;
}

function summarize(c: PipelineCase, transport: Transport, answers: Answer[], frameBytes: number, warm: boolean): CaseReport {
  const compute = answers.map((a) => (a.result.latency?.edge_compute_ms ?? 0) + (a.result.latency?.cloud_compute_ms ?? 0));
  const roundTrip = answers.map((a) => a.roundTripMs);
  const overhead = roundTrip.map((rt, i) => rt - compute[i]);
  return {
    model: c.model,
    cut: c.cut,
    transport,
    warm,
    requests: answers.length,
    computeP50Ms: percentile(compute, 0.5),
    roundTripP50Ms: percentile(roundTrip, 0.5),
    overheadP50Ms: percentile(overhead, 0.5),
    overheadP95Ms: percentile(overhead, 0.95),
    stagesP50Ms: stagesP50(answers),
    frameBytes,
    tensorBytes: percentile(answers.map((a) => a.result.tensor_bytes ?? 0), 0.5),
  };
}

/** The wire floor of each case (bench/wire-floor.ts), measured once all nodes have stopped. */
async function measureWireFloors(cases: CaseReport[]): Promise<void> {
  process.stderr.write('pipeline bench (separate processes): the wire floor...\n');
  const floor = await startWireFloor();
  try {
    const exchange = new Map<string, number>();
    const p50 = async (bytes: number, gapMs = 0) => {
      const key = `${bytes}/${gapMs}`;
      return exchange.get(key) ?? exchange.set(key, await floor.exchangeP50Ms(bytes, gapMs)).get(key)!;
    };
    for (const c of cases) {
      c.wireFloorMs = 2 * ((await p50(c.frameBytes)) + (await p50(c.tensorBytes)));
      const gapMs = Math.round(c.computeP50Ms);
      if (gapMs >= IDLE_FLOOR_MIN_GAP_MS) c.idleWireFloorMs = 2 * ((await p50(c.frameBytes, gapMs)) + (await p50(c.tensorBytes, gapMs)));
    }
  } finally {
    await floor.close();
  }
}

function printReport(report: ProcessesReport): void {
  const rows: (string | number)[][] = [];
  for (const [key, local] of Object.entries(report.inProcess)) {
    const [model, cut] = key.split('@');
    rows.push([model, cut, 'in-process (baseline)', '-', ms(local.computeMs), '-', '-', '-', '-', '-', '-']);
    for (const r of report.cases.filter((x) => x.model === model && x.cut === cut)) {
      const floor = r.wireFloorMs === undefined ? '-' : ms(r.wireFloorMs);
      const idle = r.idleWireFloorMs === undefined ? '-' : ms(r.idleWireFloorMs);
      // Against the floor of the request's own pattern: after idle pauses where it has them.
      const own = r.idleWireFloorMs ?? r.wireFloorMs;
      const times = (p50: number) => (own === undefined ? '-' : `${(p50 / own).toFixed(1)}x`);
      const nodes = r.warm ? `warm (${r.servedBefore} before)` : 'first after start';
      rows.push([model, cut, r.transport, nodes, ms(r.computeP50Ms), ms(r.roundTripP50Ms), ms(r.overheadP50Ms), ms(r.overheadP95Ms), floor, idle, times(r.overheadP50Ms)]);
      if (r.coldOverheadP50Ms !== undefined) {
        rows.push([model, cut, r.transport, 'first after start', '-', '-', ms(r.coldOverheadP50Ms), ms(r.coldOverheadP95Ms!), floor, idle, times(r.coldOverheadP50Ms)]);
      }
    }
  }
  printTable(`separate processes (broker: ${report.broker}; nats-server: ${envText(report.natsServerEnv)}): per-request framework overhead, round trip minus head+tail compute, one request at a time, batch 1, 1 thread per node (measured, ms)`,
    ['model', 'cut', 'path', 'nodes', 'compute p50', 'round trip p50', 'overhead p50', 'overhead p95', 'wire floor', 'after idle', 'p50 / floor'], rows);
  process.stdout.write('nodes: warm = after the requests it says (the tiny model: the warm-up below), as a deployment that has run for a\n'
    + 'while; first after start = the first requests the nodes served\n'
    + 'wire floor: 2 x (exchange of the frame\'s bytes + exchange of the cut tensor\'s bytes) between two Node processes\n'
    + 'over loopback, each answered by 64 bytes, nothing else done with them (bench/wire-floor.ts; measured in this run);\n'
    + `after idle: the same, each exchange after an idle pause as long as the compute p50 (cases computing ${IDLE_FLOOR_MIN_GAP_MS} ms or more:\n`
    + 'the processes on the way sit idle that long, and waking them costs time); p50 / floor: against after idle where measured\n');
  printTable('separate processes: where the time goes, p50 per stage (ms; Result.latency fields; frame leg = capture to the edge\'s arrival; result = the edge making the Result; other = its encoding and its way back)',
    ['model', 'cut', 'path', 'frame leg', 'edge queue', 'preprocess', 'head', 'encode', 'transfer', 'cloud queue', 'cloud decode', 'tail', 'cloud encode', 'result', 'other'],
    report.cases.flatMap((r) => [[r.model, r.cut, r.transport, ...stageCells(r.stagesP50Ms)],
      ...(r.loadedStagesP50Ms ? [[r.model, r.cut, `${r.transport}, ${IN_FLIGHT} in flight`, ...stageCells(r.loadedStagesP50Ms)]] : [])]));
  const tiny = report.inProcess['vgg16-tiny@features.pool3'];
  if (tiny) {
    // Each run, and its warm-up blocks, against the baseline around it.
    const baseline = (r: CaseReport) => baselineRequestsPerSecond(r, report)!;
    printTable(`separate processes: vgg16-tiny throughput, split at features.pool3, ${IN_FLIGHT} in flight, ${THROUGHPUT_REQUESTS} requests after the warm-up (measured)`,
      ['path', 'requests/s', 'vs in-process'],
      [['in-process head + tail (baseline, first)', tiny.requestsPerSecond.toFixed(0), '1.00'],
        ...report.cases.filter((r) => r.requestsPerSecond !== undefined)
          .flatMap((r) => [
            ...(r.bracketRequestsPerSecond ? [[`in-process, just before / after ${r.transport}`, r.bracketRequestsPerSecond.map((x) => x.toFixed(0)).join(' / '), '1.00']] : []),
            [r.transport, r.requestsPerSecond!.toFixed(0), (r.requestsPerSecond! / baseline(r)).toFixed(2)],
            [`${r.transport}: the warm-up before, per ${WARM_UP_BLOCK}`, r.warmUpBlocksRequestsPerSecond!.map((x) => x.toFixed(0)).join(' '),
              r.warmUpBlocksRequestsPerSecond!.map((x) => (x / baseline(r)).toFixed(2)).join(' ')]])]);
    process.stdout.write('vs in-process: against the faster of the baselines just before and after the run (the machine\'s speed drifts)\n');
    const loaded = report.cases.filter((r) => r.loadedCpuMsPerRequest);
    const names = [...new Set(loaded.flatMap((r) => Object.keys(r.loadedCpuMsPerRequest!)))];
    printTable(`separate processes: CPU time per request of each process in that run (measured, ms; /proc utime + stime, 10 ms ticks; total = all of them; in-process head + tail: ${ms(1000 / tiny.requestsPerSecond)})`,
      ['path', ...names, 'total'],
      loaded.map((r) => {
        const cpu = r.loadedCpuMsPerRequest!;
        return [r.transport, ...names.map((n) => (cpu[n] === undefined ? '-' : ms(cpu[n]))), ms(Object.values(cpu).reduce((a, b) => a + b, 0))];
      }));
  }
}

/**
 * The in-process rate a case's throughput is held against: the faster of the baselines measured
 * just before and just after its run (the machine's speed drifts over minutes, and a burst of the
 * host's other work during one of them never flatters the pipeline), else the section's first one.
 */
export function baselineRequestsPerSecond(c: CaseReport, report: ProcessesReport): number | undefined {
  const first = report.inProcess[`${c.model}@${c.cut}`]?.requestsPerSecond;
  const baselines = c.bracketRequestsPerSecond ?? (first === undefined ? [] : [first]);
  return baselines.length === 0 ? undefined : Math.max(...baselines);
}

function machine(): string {
  const cpu = cpus();
  return `${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} CPUs, ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform} ${process.arch}, Node ${process.version}`;
}

const ms = (x: number): string => x.toFixed(3);
const stageCells = (p50: Record<Stage | 'other_ms', number>): string[] => [...STAGES.map((s) => ms(p50[s])), ms(p50.other_ms)];
