/**
 * Pipeline benchmarks, everything measured on this machine in one run:
 *  - framework overhead per request: sensor-side round trip minus the head and tail compute the
 *    nodes report, over MQTT (aedes) and NATS (nats-server), for vgg16-tiny and full VGG16 split at
 *    pool3 and pool5; next to the same head + tail called in-process with no messaging;
 *  - requests per second for vgg16-tiny with one edge node and one cloud worker, next to the model
 *    run in-process back to back.
 * vgg16-tiny is measured after WARM_UP requests (16 in flight), as in bench/pipeline-processes.ts: V8
 * optimises the nodes' code over the first few thousand.
 * Edge, worker and broker share this process and its two cores, so the figures include their
 * contention; a deployment on separate machines would not pay it.
 */
import { join } from 'node:path';
import { startBroker } from '../broker/index.ts';
import { startCloudWorker } from '../cloud-worker/index.ts';
import { connectFrameClient } from '../client/index.ts';
import { connectMqtt, percentile } from '../common/index.ts';
import { startEdgeNode } from '../edge-node/index.ts';
import { inspectModel, resolveModel } from '../model/index.ts';
import { configuration, encodePolicy } from '../policy/index.ts';
import { topics } from '../schemas/index.ts';
import { syntheticInputs } from '../workload/index.ts';
import { startNatsServer } from '../local-servers/index.ts';
import { inLanes, printTable } from './harness.ts';
import { inProcess, type PipelineCase } from './in-process.ts';

const CACHE = join(import.meta.dirname, '..', '.cache', 'bench-models');
/** vgg16-tiny requests sent before its figures are taken, and timed for its throughput; requests in flight. */
const WARM_UP = 5000;
const THROUGHPUT_REQUESTS = 5000;
const IN_FLIGHT = 16;


/** The one-process figures, as the tables print them (ms; requests/s for vgg16-tiny only). */
export interface OneProcessCase {
  model: string;
  cut: string;
  transport: 'mqtt' | 'nats';
  computeP50Ms: number;
  roundTripP50Ms: number;
  overheadP50Ms: number;
  overheadP95Ms: number;
  requestsPerSecond?: number;
}

export interface OneProcessReport {
  /** In-process head + tail back to back, by `model@cut`: compute ms, and requests/s (vgg16-tiny). */
  inProcess: Record<string, { computeMs: number; requestsPerSecond: number }>;
  cases: OneProcessCase[];
}

export async function benchPipeline(): Promise<OneProcessReport> {
  const cases: PipelineCase[] = [
    { model: 'vgg16-tiny', cut: 'features.pool3', requests: 300 },
    { model: 'vgg16', cut: 'features.pool3', requests: 15 },
    { model: 'vgg16', cut: 'features.pool5', requests: 15 },
  ];
  const nats = await startNatsServer();
  const broker = await startBroker({ host: '127.0.0.1', port: 0 });
  const report: OneProcessReport = { inProcess: {}, cases: [] };
  try {
    for (const c of cases) {
      process.stderr.write(`pipeline bench: ${c.model} at ${c.cut}...\n`);
      const path = await resolveModel(c.model, { cacheDir: CACHE });
      const local = await inProcess(CACHE, path, c);
      report.inProcess[`${c.model}@${c.cut}`] = { computeMs: local.computeMs, requestsPerSecond: local.requestsPerSecond };
      for (const transport of ['mqtt', 'nats'] as const) {
        const r = await overPipeline(path, c, transport, broker.url, nats.url);
        report.cases.push({
          model: c.model, cut: c.cut, transport, computeP50Ms: r.computeP50, roundTripP50Ms: r.roundTripP50, overheadP50Ms: r.overheadP50, overheadP95Ms: r.overheadP95,
          ...(c.model === 'vgg16-tiny' ? { requestsPerSecond: r.rps } : {}),
        });
      }
    }
  } finally {
    await broker.close();
    await nats.stop();
  }
  printOneProcess(report);
  return report;
}

/** The report's two tables: overhead per case (each case's in-process baseline first), and vgg16-tiny's throughput. */
function printOneProcess(report: OneProcessReport): void {
  const rows = Object.entries(report.inProcess).flatMap(([key, local]) => [
    [...key.split('@'), 'in-process (baseline)', ms(local.computeMs), '-', '-', '-'],
    ...report.cases.filter((r) => `${r.model}@${r.cut}` === key)
      .map((r) => [r.model, r.cut, r.transport, ms(r.computeP50Ms), ms(r.roundTripP50Ms), ms(r.overheadP50Ms), ms(r.overheadP95Ms)]),
  ]);
  const tiny = report.inProcess['vgg16-tiny@features.pool3'];
  const throughput = [
    ['in-process head + tail (baseline)', tiny.requestsPerSecond.toFixed(0), '1.00'],
    ...report.cases.filter((r) => r.requestsPerSecond !== undefined)
      .map((r) => [r.transport, r.requestsPerSecond!.toFixed(0), (r.requestsPerSecond! / tiny.requestsPerSecond).toFixed(2)]),
  ];
  printTable(`per-request framework overhead: round trip minus head+tail compute, batch 1, 1 thread per node, vgg16-tiny after ${WARM_UP} requests (measured, ms)`,
    ['model', 'cut', 'path', 'compute p50', 'round trip p50', 'overhead p50', 'overhead p95'], rows);
  printTable(`vgg16-tiny throughput, split at features.pool3, one edge node + one cloud worker, ${IN_FLIGHT} in flight, ${THROUGHPUT_REQUESTS} requests after the warm-up (measured)`,
    ['path', 'requests/s', 'vs in-process'], throughput);
}

async function overPipeline(path: string, c: PipelineCase, transport: 'mqtt' | 'nats', mqttUrl: string, natsUrl: string) {
  const models = { [c.model]: path };
  const ids = `${transport}-${c.model}`;
  const cloud = await startCloudWorker({ workerId: `bench-cloud-${ids}`, transport, mqttUrl, natsUrl, models, threads: 1 });
  const edge = await startEdgeNode({ edgeId: `bench-edge-${ids}`, transport, mqttUrl, natsUrl, models, threads: 1 });
  const client = await connectMqtt(mqttUrl, { clientId: `bench-policy-${ids}` });
  const sensor = await connectFrameClient({ mqttUrl, sensorId: 'bench', timeoutMs: 60_000 });
  try {
    const policy = configuration({ cut: c.cut, codec: 'fp32' });
    await client.publishAsync(topics.policy(c.model, 'default'), Buffer.from(encodePolicy({
      version: 1, model: c.model, edge_class: 'default', rule: 'energy-first', entries: [{ configuration: policy }],
    })), { qos: 1, retain: true });
    while (edge.stats().policies.versions[c.model] !== 1) await new Promise((r) => setTimeout(r, 10));
    const shape = (await inspectModel(path)).input.shape;
    const { tensor } = syntheticInputs(shape, 3, 1)[0];
    const send = async () => {
      const { result, roundTripMs } = await sensor.request({ model: c.model, budget_ms: 60_000, tensor });
      if (result.error?.code || result.edge_fallback) throw new Error(`bench request failed: ${result.error?.code ?? 'edge fallback'}`);
      const compute = (result.latency?.edge_compute_ms ?? 0) + (result.latency?.cloud_compute_ms ?? 0);
      return { roundTrip: roundTripMs, compute };
    };
    const load = (count: number) => inLanes(count, IN_FLIGHT, send);
    const tiny = c.model === 'vgg16-tiny';
    if (tiny) await load(WARM_UP);
    else for (let i = 0; i < 3; i++) await send();
    const samples = [];
    for (let i = 0; i < c.requests; i++) samples.push(await send());
    let rps = 0;
    if (tiny) {
      const started = performance.now();
      await load(THROUGHPUT_REQUESTS);
      rps = THROUGHPUT_REQUESTS / ((performance.now() - started) / 1000);
    }
    const overheads = samples.map((s) => s.roundTrip - s.compute);
    await client.publishAsync(topics.policy(c.model, 'default'), Buffer.alloc(0), { qos: 1, retain: true });
    return {
      // common/stats.ts's nearest-rank percentile, as everywhere else.
      computeP50: percentile(samples.map((s) => s.compute), 0.5),
      roundTripP50: percentile(samples.map((s) => s.roundTrip), 0.5),
      overheadP50: percentile(overheads, 0.5),
      overheadP95: percentile(overheads, 0.95),
      rps,
    };
  } finally {
    await sensor.close();
    await client.endAsync();
    await edge.close();
    await cloud.close();
  }
}


const ms = (x: number) => x.toFixed(3);
