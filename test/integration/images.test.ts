/**
 * Image input: a sensor sends a directory of PNG and JPEG files, either preprocessed to tensors on
 * the sensor or encoded for the edge node to preprocess; both give the same answers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, inject, it, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { encodePolicy, configuration } from '../../policy/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import { connectMqtt } from '../../common/index.ts';
import { topics } from '../../schemas/index.ts';
import { runSensor } from '../../sensor/index.ts';
import { resultSink } from '../helpers/pipeline.ts';

const zoo = inject('zooDir');
const dir = mkdtempSync(join(tmpdir(), 'dynasplit-images-'));
let broker: BrokerHandle;
let cloud: CloudWorker;
let edge: EdgeNode;

beforeAll(async () => {
  for (let i = 0; i < 6; i++) {
    const pixels = Buffer.alloc(48 * 40 * 3);
    for (let p = 0; p < pixels.length; p++) pixels[p] = (p * (i + 3) * 37 + i * 11) % 256;
    const image = sharp(pixels, { raw: { width: 48, height: 40, channels: 3 } });
    await (i % 2 ? image.jpeg({ quality: 95 }) : image.png()).toFile(join(dir, `img-${i}.${i % 2 ? 'jpg' : 'png'}`));
  }
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  const models = { 'vgg16-tiny': join(zoo, 'vgg16-tiny.onnx') };
  cloud = await startCloudWorker({ workerId: 'img-cloud', mqttUrl: broker.url, models, threads: 1 });
  edge = await startEdgeNode({ edgeId: 'img-edge', mqttUrl: broker.url, models, threads: 1 });
  // Edge-only, so answers do not depend on a lossy codec: the two runs must agree exactly.
  const client = await connectMqtt(broker.url, { clientId: 'img-policy' });
  await client.publishAsync(topics.policy('vgg16-tiny', 'default'), Buffer.from(encodePolicy({
    version: 1, model: 'vgg16-tiny', edge_class: 'default', rule: 'energy-first', entries: [{ configuration: configuration({ cut: 'output' }) }],
  })), { qos: 1, retain: true });
  await client.endAsync();
  await vi.waitFor(() => expect(edge.stats().policies.versions['vgg16-tiny']).toBe(1), { timeout: 10_000, interval: 10 });
});

afterAll(async () => {
  await edge?.close();
  await cloud?.close();
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('images preprocessed by the sensor and by the edge node give the same classes', async () => {
  const common = { mqttUrl: broker.url, model: 'vgg16-tiny', modelSource: join(zoo, 'vgg16-tiny.onnx'), count: 6, rate: 200, budgets: 'fixed:5000', imagesDir: dir };
  const sink = await resultSink(broker.url, ['img-tensors', 'img-encoded']);
  try {
    const tensors = await runSensor({ ...common, sensorId: 'img-tensors' });
    const encoded = await runSensor({ ...common, sensorId: 'img-encoded', sendEncoded: true });
    for (const s of [tensors, encoded]) expect(s).toMatchObject({ requests: 6, results: 6, errors: 0 });
    expect(encoded.configurations).toEqual({ 'edge-only': 6 });
    await sink.waitFor(12);
    // Request ids end in the frame index, and frame i carries image i of the sorted directory.
    const classes = (sensor: string) => sink.all.filter((r) => r.sensor_id === sensor)
      .sort((a, b) => Number(a.request_id.split('-').pop()) - Number(b.request_id.split('-').pop()))
      .map((r) => r.class_index);
    expect(classes('img-encoded')).toEqual(classes('img-tensors'));
    expect(new Set(classes('img-tensors')).size).toBeGreaterThan(1);
  } finally {
    await sink.close();
  }
});
