/**
 * Interop: the edge node, a cloud worker and the sensor work through Mosquitto (Debian package)
 * instead of our aedes broker: plain MQTT 3.1.1 with Mosquitto's own shared subscriptions.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import { runSensor } from '../../sensor/index.ts';
import { startMosquitto, type RunningServer } from '../../local-servers/index.ts';

const zoo = inject('zooDir');
const models = () => ({ 'vit-tiny': join(zoo, 'vit-tiny.onnx') });
let mosquitto: RunningServer;
let cloud: CloudWorker;
let edges: EdgeNode[];

beforeAll(async () => {
  mosquitto = await startMosquitto();
  cloud = await startCloudWorker({ workerId: 'mosq-cloud', mqttUrl: mosquitto.url, models: models(), threads: 1 });
  edges = await Promise.all(['mosq-edge-1', 'mosq-edge-2'].map((edgeId) =>
    startEdgeNode({ edgeId, mqttUrl: mosquitto.url, models: models(), threads: 1 })));
});

afterAll(async () => {
  for (const e of edges ?? []) await e.close();
  await cloud?.close();
  await mosquitto?.stop();
});

it('sensor, two edge nodes sharing the frame stream and a cloud worker, all through Mosquitto', async () => {
  const summary = await runSensor({
    sensorId: 'mosq-sensor', mqttUrl: mosquitto.url, model: 'vit-tiny', modelSource: join(zoo, 'vit-tiny.onnx'),
    count: 40, rate: 100, budgets: 'fixed:5000', drainMs: 30_000,
  });
  expect(summary).toMatchObject({ requests: 40, results: 40, errors: 0, unanswered: 0, duplicateResults: 0 });
  expect(Object.keys(summary.configurations).length).toBe(3);
  const frames = edges.map((e) => e.stats().frames);
  expect(frames.reduce((a, b) => a + b, 0)).toBe(40);
  expect(frames.every((n) => n > 0)).toBe(true);
});
