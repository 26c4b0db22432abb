/**
 * The NATS path: edge node and two cloud workers exchanging tensors over a real nats-server whose
 * max_payload (8 KiB) is smaller than the tensors, so every cloud-only request is chunked; frames
 * and results still travel over MQTT.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import { frame, inputs, referenceClasses, resultSink, type ResultSink } from '../helpers/pipeline.ts';
import { startNatsServer, type RunningServer } from '../../local-servers/index.ts';

const MODEL = 'vgg16-tiny';
const SHAPE = [1, 3, 32, 32];
const zoo = inject('zooDir');
const MAX_PAYLOAD = 8 * 1024;
let nats: RunningServer;
let broker: BrokerHandle;
let workers: CloudWorker[];
let edge: EdgeNode;
let sink: ResultSink;

beforeAll(async () => {
  nats = await startNatsServer({ maxPayload: MAX_PAYLOAD });
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  const models = { [MODEL]: join(zoo, `${MODEL}.onnx`) };
  workers = await Promise.all(['nats-a', 'nats-b'].map((workerId) =>
    startCloudWorker({ workerId, transport: 'nats', natsUrl: nats.url, models, threads: 1 })));
  edge = await startEdgeNode({ edgeId: 'nats-edge', mqttUrl: broker.url, transport: 'nats', natsUrl: nats.url, models, threads: 1 });
  sink = await resultSink(broker.url, ['s-nats']);
});

afterAll(async () => {
  await sink?.close();
  await edge?.close();
  for (const w of workers ?? []) await w.close();
  await broker?.close();
  await nats?.stop();
});

it('tensors larger than max_payload travel in chunks and every answer is right', async () => {
  const data = inputs(SHAPE, 24, 8);
  const expected = await referenceClasses(join(zoo, `${MODEL}.onnx`), SHAPE, data);
  for (const [i, x] of data.entries()) await sink.publishFrame('s-nats', frame(`n-${i}`, 's-nats', MODEL, SHAPE, x));
  await sink.waitFor(data.length);
  const cloudOnly = sink.all.filter((r) => r.configuration!.cut === 'input');
  expect(cloudOnly.length).toBe(8);
  for (const r of cloudOnly) {
    expect(r.tensor_bytes).toBeGreaterThan(MAX_PAYLOAD);
    expect(r.edge_fallback).toBe(false);
  }
  for (const r of sink.all) {
    expect(r.error?.code ?? '').toBe('');
    if (r.configuration!.codec !== 'fp16') expect(r.class_index).toBe(expected[Number(r.request_id.slice(2))]);
  }
  const served = workers.map((w) => w.stats().replies);
  expect(served.every((n) => n > 0)).toBe(true);
  expect(served.reduce((a, b) => a + b, 0)).toBe(16);
});
