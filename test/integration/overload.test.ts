/**
 * Bounded under overload: frames sent far faster than the edge node can run them are each either
 * answered or refused with a coded error (per-sensor rate limit, full queue, budget run out), none
 * is left unanswered, and the node's memory does not grow with the backlog.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import { runSensor } from '../../sensor/index.ts';

const zoo = inject('zooDir');
const MODEL = 'vgg16-tiny';
let broker: BrokerHandle;
let cloud: CloudWorker;
let edge: EdgeNode;

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  const models = { [MODEL]: join(zoo, `${MODEL}.onnx`) };
  cloud = await startCloudWorker({ workerId: 'ol-cloud', mqttUrl: broker.url, models, profile: 'gpu-server' });
  // An emulated Pi with one frame at a time sustains on the order of 100 frames/s here.
  edge = await startEdgeNode({ edgeId: 'ol-edge', mqttUrl: broker.url, models, profile: 'rpi4', concurrency: 1, maxQueue: 16, maxSensorRate: 40 });
});

afterAll(async () => {
  await edge?.close();
  await cloud?.close();
  await broker?.close();
});

it('every frame at 10x the sustainable rate is answered or refused with a coded error, memory bounded', async () => {
  const before = process.memoryUsage().rss;
  const run = (sensorId: string) => runSensor({
    sensorId, mqttUrl: broker.url, model: MODEL, modelSource: join(zoo, `${MODEL}.onnx`), count: 1_000, rate: 1_000, budgets: 'fixed:500', drainMs: 20_000,
  });
  const summaries = await Promise.all([run('ol-a'), run('ol-b')]);
  for (const s of summaries) {
    expect(s.unanswered).toBe(0);
    expect(s.duplicateResults).toBe(0);
    expect(s.results).toBeGreaterThan(0);
    expect(Object.keys(s.errorsByCode).every((c) => ['DYNASPLIT_ERR_RATE_LIMITED', 'DYNASPLIT_ERR_OVERLOADED', 'DYNASPLIT_ERR_EXPIRED'].includes(c))).toBe(true);
    expect(s.errorsByCode.DYNASPLIT_ERR_RATE_LIMITED).toBeGreaterThan(0);
  }
  const stats = edge.stats();
  expect(stats.frames).toBe(2_000);
  // The backlog never exceeds the queue bound, so memory does not grow with the frames sent.
  expect(process.memoryUsage().rss - before).toBeLessThan(300 * 1024 * 1024);
}, 60_000);
