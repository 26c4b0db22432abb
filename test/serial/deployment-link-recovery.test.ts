/**
 * A link that recovers is noticed: an edge node emulating a slow device sends tensors to an emulated
 * GPU worker over an emulated 2 Mbit/s uplink; the optimizer (window 3 s, memory 8 s) reads the
 * metrics. The uplink slows 100x, the policy moves everything to the edge (no transfer measures the
 * link any more); the uplink recovers, and within 30 s the published choice offloads the large tensor again. Nothing probes the link: after
 * the memory without transfers that confirm the bandwidth, the estimate returns to the prior and the
 * optimizer tries offloading again (pareto/link-fit.ts linkForRound).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import { createMetricsStore } from '../../metrics/index.ts';
import { startOptimizer, type LiveOptimizer } from '../../optimizer/index.ts';
import { compilePolicy, decide } from '../../policy/index.ts';
import { frame, inputs, resultSink, type ResultSink } from '../helpers/pipeline.ts';

const zoo = inject('zooDir');
const MODEL = 'vgg16-tiny';
const SHAPE = [1, 3, 32, 32];
const BUDGET_MS = 300;
const EDGE_PROFILE = join(import.meta.dirname, '..', 'fixtures', 'slow-edge.json');
let broker: BrokerHandle;
let cloud: CloudWorker;
let edge: EdgeNode;
let optimizer: LiveOptimizer;
let sink: ResultSink;
let sending = true;

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  const models = { [MODEL]: join(zoo, `${MODEL}.onnx`) };
  const metrics = createMetricsStore('embedded');
  cloud = await startCloudWorker({ workerId: 'recover-cloud', mqttUrl: broker.url, models, profile: 'gpu-server' });
  edge = await startEdgeNode({ edgeId: 'recover-edge', mqttUrl: broker.url, models, profile: EDGE_PROFILE, linkMbps: 2, linkRttMs: 1, concurrency: 4 },
    { metrics });
  optimizer = await startOptimizer({
    mqttUrl: broker.url, models, edgeProfile: EDGE_PROFILE, cloudProfile: 'gpu-server', codecs: ['fp32'],
    intervalMs: 500, windowMs: 3_000, memoryMs: 8_000, linkMbps: 2, linkRttMs: 1,
  }, { metrics });
  sink = await resultSink(broker.url, ['recover-sensor']);
  const data = inputs(SHAPE, 8, 2);
  void (async () => {
    for (let i = 0; sending; i++) {
      await sink.publishFrame('recover-sensor', frame(`r-${i}`, 'recover-sensor', MODEL, SHAPE, data[i % data.length], BUDGET_MS));
      await new Promise((resolve) => setTimeout(resolve, 200)); // 5 frames/s: the load, not a wait
    }
  })();
}, 60_000);

afterAll(async () => {
  sending = false;
  await optimizer?.close();
  await sink?.close();
  await edge?.close();
  await cloud?.close();
  await broker?.close();
});

const moreAnswers = (count: number) => sink.waitFor(sink.all.length + count, 30_000);
/** The configuration the published policy picks for our budget. */
const choice = () => {
  const policy = optimizer.published(MODEL);
  return policy ? decide(compilePolicy(policy), BUDGET_MS) : undefined;
};
/** The largest tensor the answers since `from` under configuration `name` sent. */
const sentBy = (name: string, from: number) => Math.max(0, ...sink.all.filter((r) => r.completed_at_ms >= from && r.configuration?.name === name).map((r) => r.tensor_bytes ?? 0));

it('offloads the large tensor again within 30 s of the uplink recovering', async () => {
  await moreAnswers(30);
  await vi.waitFor(() => expect(choice()).toBeDefined(), { timeout: 10_000, interval: 50 });
  const before = choice()!;
  const beforeFrom = Date.now();
  await moreAnswers(20);
  const large = sentBy(before.configuration.name, beforeFrom);
  expect(large, `${before.configuration.name} sends a tensor`).toBeGreaterThan(0);

  // 100x slower: even the smallest tensor misses the budget, so everything moves to the edge and
  // nothing measures the link any more.
  edge.setLink({ mbps: 0.02, rttMs: 1 });
  await vi.waitFor(() => expect(choice()!.configuration.cut).toBe('output'), { timeout: 20_000, interval: 50 });

  edge.setLink({ mbps: 2, rttMs: 1 });
  const recoveredAt = Date.now();
  await vi.waitFor(() => {
    const now = choice()!.configuration;
    expect(sentBy(now.name, recoveredAt), `${now.name} since the recovery`).toBeGreaterThanOrEqual(large / 2);
  }, { timeout: 30_000, interval: 100 });
}, 120_000);
