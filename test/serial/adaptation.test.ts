/**
 * Live re-optimization on the real pipeline: an edge node emulating a slow device sends tensors to
 * an emulated GPU worker over an emulated 2 Mbit/s uplink; the optimizer reads the metrics and
 * publishes policies. Mid-run the uplink slows 10x. Within 10 s the published policy must move off
 * the large-tensor configurations, and the share of budgets met must return to within 5 points of
 * its level before the change.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import { createMetricsStore } from '../../metrics/index.ts';
import { startOptimizer, type LiveOptimizer } from '../../optimizer/index.ts';
import { compilePolicy, decide } from '../../policy/index.ts';
import type { Result } from '../../schemas/index.ts';
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
  cloud = await startCloudWorker({ workerId: 'adapt-cloud', mqttUrl: broker.url, models, profile: 'gpu-server' });
  edge = await startEdgeNode({ edgeId: 'adapt-edge', mqttUrl: broker.url, models, profile: EDGE_PROFILE, linkMbps: 2, linkRttMs: 1, concurrency: 4 },
    { metrics });
  optimizer = await startOptimizer({
    mqttUrl: broker.url, models, edgeProfile: EDGE_PROFILE, cloudProfile: 'gpu-server', codecs: ['fp32'],
    intervalMs: 500, windowMs: 3_000, memoryMs: 30_000, linkMbps: 2, linkRttMs: 1,
  }, { metrics });
  sink = await resultSink(broker.url, ['adapt-sensor']);
  const data = inputs(SHAPE, 8, 2);
  void (async () => {
    for (let i = 0; sending; i++) {
      await sink.publishFrame('adapt-sensor', frame(`a-${i}`, 'adapt-sensor', MODEL, SHAPE, data[i % data.length], BUDGET_MS));
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

/** Resolves once `count` more results have come in: windows are counted in answers (5 a second), not ms. */
const moreAnswers = (count: number) => sink.waitFor(sink.all.length + count, 30_000);
const metRate = (results: Result[]) => results.filter((r) => r.budget_met).length / results.length;
const between = (from: number, to: number) => sink.all.filter((r) => r.completed_at_ms >= from && r.completed_at_ms < to);
/** The configuration the published policy picks for our budget, and the bytes it sends. */
const choice = () => {
  const policy = optimizer.published(MODEL);
  return policy ? decide(compilePolicy(policy), BUDGET_MS) : undefined;
};

it('follows a 10x slower uplink within 10 s and meets budgets again', async () => {
  // Warm-up: 30 answers fill the optimizer's 3 s window a few times over; then a policy is out.
  await moreAnswers(30);
  await vi.waitFor(() => expect(choice()).toBeDefined(), { timeout: 10_000, interval: 50 });
  const before = choice()!;
  expect(before.configuration.cut).not.toBe('output');
  const beforeFrom = Date.now();
  await moreAnswers(20);
  const beforeRate = metRate(between(beforeFrom, Date.now()));
  expect(beforeRate).toBeGreaterThan(0.8);

  edge.setLink({ mbps: 0.2, rttMs: 1 });
  const slowedAt = Date.now();
  const sentBy = (name: string, from: number, to: number) => Math.max(0, ...between(from, to).filter((r) => r.configuration?.name === name).map((r) => r.tensor_bytes ?? 0));
  const sentBefore = sentBy(before.configuration.name, beforeFrom, slowedAt);
  expect(sentBefore).toBeGreaterThan(0);
  // Within 10 s of the slow-down the published choice for our budget is one that sends less than half
  // of what the old one did (seen in its answers), and the edge has it ...
  const sentByChoice = () => {
    const name = choice()!.configuration.name;
    return sink.all.filter((r) => r.completed_at_ms >= slowedAt && r.configuration?.name === name).map((r) => r.tensor_bytes);
  };
  await vi.waitFor(() => {
    expect(choice()!.configuration.name).not.toBe(before.configuration.name);
    expect(edge.stats().policies.versions[MODEL]).toBeGreaterThanOrEqual(optimizer.published(MODEL)!.version ?? 0);
    const bytes = sentByChoice();
    expect(bytes.length).toBeGreaterThan(0);
    expect(Math.max(...bytes)).toBeLessThan(sentBefore / 2);
  }, { timeout: 10_000 - (Date.now() - slowedAt), interval: 50 });
  // Settling: 30 answers (6 s) drain what queued on the slow link and fill the optimizer's 3 s window
  // with figures from after the change only.
  await moreAnswers(30);
  const after = choice()!;
  // ... its answers still send far less than the old one did, and the budgets are met again as often as before.
  const afterFrom = Date.now();
  await moreAnswers(20);
  const afterResults = between(afterFrom, Date.now());
  const bytesAfter = afterResults.filter((r) => r.configuration?.name === after.configuration.name).map((r) => r.tensor_bytes);
  expect(bytesAfter.length, 'answers under the new choice').toBeGreaterThan(0);
  expect(Math.max(...bytesAfter)).toBeLessThan(sentBefore / 2);
  const outcomes = JSON.stringify(afterResults.map((r) => [r.configuration?.name ?? r.error?.code, r.latency?.end_to_end_ms]));
  expect(metRate(afterResults), outcomes).toBeGreaterThanOrEqual(beforeRate - 0.05);
}, 60_000);
