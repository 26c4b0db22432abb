/** When no cloud worker answers (in time, or at all), the edge completes the request itself and says so. */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker } from '../../cloud-worker/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import { frame, inputs, referenceClasses, resultSink, type ResultSink } from '../helpers/pipeline.ts';

const MODEL = 'vit-tiny';
const SHAPE = [1, 3, 32, 32];
const zoo = inject('zooDir');
let broker: BrokerHandle;
let edge: EdgeNode;
let single: EdgeNode;
let sink: ResultSink;

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  // Enough concurrency that no frame waits behind another's fallback wait (it would expire queued).
  edge = await startEdgeNode({ edgeId: 'lonely-edge', mqttUrl: broker.url, models: { [MODEL]: join(zoo, `${MODEL}.onnx`) }, threads: 1, concurrency: 8 });
  sink = await resultSink(broker.url, ['s-fallback', 's-slots']);
});

afterAll(async () => {
  await sink?.close();
  await edge?.close();
  await single?.close();
  await broker?.close();
});

it('with no cloud worker, split and cloud-only requests finish on the edge, correctly', async () => {
  const data = inputs(SHAPE, 6, 4);
  const expected = await referenceClasses(join(zoo, `${MODEL}.onnx`), SHAPE, data);
  for (const [i, x] of data.entries()) await sink.publishFrame('s-fallback', frame(`fb-${i}`, 's-fallback', MODEL, SHAPE, x, 1000));
  await sink.waitFor(data.length);
  expect(sink.all.map((r) => r.error?.code ?? '')).toEqual(sink.all.map(() => ''));
  const offloaded = sink.all.filter((r) => r.configuration!.cut !== 'output');
  expect(offloaded.length).toBe(4);
  for (const r of sink.all) {
    expect(r.error?.code ?? '').toBe('');
    expect(r.class_index).toBe(expected[Number(r.request_id.slice(3))]);
  }
  for (const r of offloaded) {
    expect(r.edge_fallback).toBe(true);
    expect(r.worker_id).toBe('');
  }
  expect(edge.stats().fallbackCauses).toEqual({ DYNASPLIT_ERR_TIMEOUT: 4 });
});

it('waiting for the cloud holds no compute slot: edge-only frames overtake a cloud request nobody answers', async () => {
  await edge.close();
  // One compute slot, in its own group so the first node takes none of these frames.
  single = await startEdgeNode({ edgeId: 'single-slot-edge', group: 'slots', mqttUrl: broker.url, models: { [MODEL]: join(zoo, `${MODEL}.onnx`) },
    threads: 1, concurrency: 1 });
  const [x] = inputs(SHAPE, 1, 9);
  const forced = (id: string, cut: string, budgetMs: number) => ({ ...frame(id, 's-slots', MODEL, SHAPE, x, budgetMs), configuration: { cut } });
  const before = sink.all.length;
  await sink.publishFrame('s-slots', forced('slot-cloud', 'input', 4000));
  for (let i = 0; i < 3; i++) await sink.publishFrame('s-slots', forced(`slot-edge-${i}`, 'output', 4000));
  await sink.waitFor(before + 4);
  const order = sink.all.filter((r) => r.sensor_id === 's-slots').map((r) => r.request_id);
  expect(order).toEqual(['slot-edge-0', 'slot-edge-1', 'slot-edge-2', 'slot-cloud']);
  expect(sink.byId.get('slot-cloud')![0].edge_fallback).toBe(true);
});

it('over MQTT, once the workers announce themselves, a request no worker is UP for falls back at once (NO_WORKERS), not after its budget', async () => {
  const worker = await startCloudWorker({ workerId: 'brief-worker', mqttUrl: broker.url, models: { [MODEL]: join(zoo, `${MODEL}.onnx`) }, threads: 1 });
  const [x] = inputs(SHAPE, 1, 11);
  let n = 0;
  const send = async (budgetMs: number) => {
    const id = `gone-${n++}`;
    const before = sink.all.length;
    await sink.publishFrame('s-slots', { ...frame(id, 's-slots', MODEL, SHAPE, x, budgetMs), configuration: { cut: 'input' } });
    await sink.waitFor(before + 1);
    return sink.byId.get(id)![0];
  };
  const causes = () => pick(single.stats().fallbackCauses);
  // STARTING, then UP: the worker answers.
  await vi.waitFor(async () => expect((await send(4000)).worker_id).toBe('brief-worker'), { timeout: 30_000 });
  await worker.close();
  const before = causes();
  // Its GONE reaches the edge: the next requests are not sent to a topic nobody reads.
  await vi.waitFor(async () => {
    await send(4000);
    expect(causes().noWorkers).toBeGreaterThan(before.noWorkers);
  }, { timeout: 30_000 });
  const settled = causes();
  // A whole minute of budget: it would wait that long for a reply that cannot come.
  const last = await send(60_000);
  expect(last).toMatchObject({ edge_fallback: true, worker_id: '' });
  expect(last.class_index).toBe((await referenceClasses(join(zoo, `${MODEL}.onnx`), SHAPE, [x]))[0]);
  expect(causes()).toEqual({ timeout: settled.timeout, noWorkers: settled.noWorkers + 1 });
});

function pick(c: Record<string, number>) {
  return { timeout: c.DYNASPLIT_ERR_TIMEOUT ?? 0, noWorkers: c.DYNASPLIT_ERR_NO_WORKERS ?? 0 };
}
