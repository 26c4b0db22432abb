/**
 * The embedded pipeline with every onnxruntime session in a worker thread (inferenceThread 'worker'):
 * the same answers as the unsplit model, on every kind of configuration the default policy rotates.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { frame, inputs, referenceClasses, startEmbeddedPipeline, type EmbeddedPipeline } from '../helpers/pipeline.ts';

const MODEL = 'vgg16-tiny';
const SHAPE = [1, 3, 32, 32];
const zoo = inject('zooDir');
const modelPath = () => join(zoo, `${MODEL}.onnx`);
const SENSOR = `s-${Math.random().toString(36).slice(2, 8)}`;

let pipeline: EmbeddedPipeline;

beforeAll(async () => {
  const worker = { inferenceThread: 'worker' as const };
  pipeline = await startEmbeddedPipeline({ models: { [MODEL]: modelPath() }, threads: 1 }, [SENSOR], { cloud: worker, edge: worker });
});

afterAll(async () => {
  await pipeline?.close();
});

describe('embedded pipeline, sessions in worker threads', () => {
  it('answers every frame as the unsplit model does, edge-only, split and cloud-only', async () => {
    const { sink, cloud } = pipeline;
    const data = inputs(SHAPE, 12);
    const expected = await referenceClasses(modelPath(), SHAPE, data);
    for (const [i, x] of data.entries()) await sink.publishFrame(SENSOR, frame(`w-${i}`, SENSOR, MODEL, SHAPE, x));
    await sink.waitFor(data.length);
    const names = new Set<string>();
    for (const [i] of data.entries()) {
      const [r] = sink.byId.get(`w-${i}`)!;
      expect(r.error?.code ?? '').toBe('');
      names.add(r.configuration!.name ?? '');
      if (r.configuration!.codec === 'fp32' || r.configuration!.cut === 'output') expect(r.class_index).toBe(expected[i]);
      if (r.configuration!.cut !== 'output') expect(r.worker_id).toBe(cloud.workerId);
      expect((r.latency!.edge_compute_ms ?? 0) + (r.latency!.cloud_compute_ms ?? 0)).toBeGreaterThan(0);
    }
    expect([...names].sort()).toEqual(['cloud-only/fp32', 'edge-only', 'split@features.pool2/fp16']);
  });
});
