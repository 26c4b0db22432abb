/**
 * A real cloud worker on an in-process aedes broker (port 0), asked through the edge side of the
 * MQTT transport: its answers, and its error replies (code, retryable, worker id) counted in its stats.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../../broker/index.ts';
import { startCloudWorker, type CloudWorker } from '../../../cloud-worker/index.ts';
import { decodeTensor, encodeTensor } from '../../../codec/index.ts';
import { connectMqtt, ErrorCodes } from '../../../common/index.ts';
import { inspectModel } from '../../../model/index.ts';
import { configuration, defaultPolicy, EDGE_ONLY_CUT, encodePolicy } from '../../../policy/index.ts';
import { topics, type TailReply, type TensorProperties } from '../../../schemas/index.ts';
import { createMqttTransport, type TensorTransport } from '../../../transport/index.ts';
import { withBusyInferenceStart } from '../../helpers/busy.ts';

const MODEL = 'vgg16-tiny';
const SHAPE = [1, 3, 32, 32];
const unique = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;
const WORKER = unique('cloud');

let broker: BrokerHandle;
let worker: CloudWorker;
let edge: TensorTransport;

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  const zoo = inject('zooDir');
  worker = await startCloudWorker({
    workerId: WORKER, mqttUrl: broker.url, models: { [MODEL]: join(zoo, `${MODEL}.onnx`) }, modelCacheDir: zoo,
    workDir: join(zoo, unique('work')), threads: 1, concurrency: 1, maxQueue: 1,
  });
  edge = await createMqttTransport({ url: broker.url, edgeId: unique('edge'), clientId: unique('edge-t') });
});

afterAll(async () => {
  await edge?.close();
  await worker?.close();
  await broker?.close();
});

const tensor = () => encodeTensor({ name: 'input', shape: SHAPE, data: Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => (i % 17) / 17) }, 'fp32');
const ask = (cut: string, over: { deadline_at_ms?: number } = {}, sent: TensorProperties = tensor()): Promise<TailReply> =>
  edge.request({ request_id: unique('r'), model: MODEL, cut, tensor: sent, edge_id: 'e', sent_at_ms: Date.now(), ...over }, { timeoutMs: 30_000 });

/** The model's cut points, the cuts of the edges' default policy, and a tensor of a cut's shape. */
async function cutsOfModel() {
  const { cutPoints, flops } = await inspectModel(join(inject('zooDir'), `${MODEL}.onnx`));
  const cutTensor = (cut: string, codec: 'fp32' | 'fp16') => {
    const shape = cutPoints.find((c) => c.name === cut)!.shape;
    return encodeTensor({ name: cut, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.25) }, codec);
  };
  return { cutPoints, defaultCuts: defaultPolicy(MODEL, cutPoints, flops).entries!.map((e) => e.configuration!.cut!), cutTensor };
}

describe('cloud worker', () => {
  it("has the tails of the edges' default policy loaded before it serves: their first requests load nothing", async () => {
    const { defaultCuts, cutTensor } = await cutsOfModel();
    const cuts = defaultCuts.filter((cut) => cut !== EDGE_ONLY_CUT);
    expect(cuts).toContain('input'); // cloud-only, and the exploration's split
    expect(cuts.length).toBeGreaterThan(1);
    const before = worker.stats().sessions;
    expect(before.loads).toBeGreaterThanOrEqual(cuts.length);
    for (const cut of cuts) {
      const reply = await ask(cut, {}, cut === 'input' ? tensor() : cutTensor(cut, 'fp32'));
      expect(reply.error?.code ?? '', cut).toBe('');
    }
    expect(worker.stats().sessions).toMatchObject({ loads: before.loads, evictions: 0 });
  });

  it('loads the tails a published policy names before they are asked for; a policy it cannot read changes nothing else', async () => {
    const { cutPoints, defaultCuts, cutTensor } = await cutsOfModel();
    const warm = new Set(defaultCuts);
    const fresh = cutPoints.map((c) => c.name).filter((cut) => !warm.has(cut)).slice(0, 2);
    expect(fresh).toHaveLength(2);
    const before = worker.stats();
    const optimizer = await connectMqtt(broker.url, { clientId: unique('optimizer') });
    const edgeClass = unique('class');
    try {
      await optimizer.publishAsync(topics.policy(MODEL, edgeClass), Buffer.from(encodePolicy({
        version: 1, model: MODEL, edge_class: edgeClass, rule: 'energy-first',
        entries: [{ configuration: configuration({ cut: EDGE_ONLY_CUT }) }, ...fresh.map((cut) => ({ configuration: configuration({ cut, codec: 'fp16' }) }))],
      })), { qos: 1, retain: true });
      await optimizer.publishAsync(topics.policy(MODEL, edgeClass), Buffer.from('not a policy'), { qos: 1 });
      await vi.waitFor(() => expect(worker.stats().policies).toEqual({ policies: before.policies.policies + 1, malformed: before.policies.malformed + 1 }), { timeout: 30_000 });
    } finally {
      await optimizer.endAsync();
    }
    const loaded = worker.stats().sessions.loads;
    expect(loaded - before.sessions.loads).toBe(fresh.length);
    for (const cut of fresh) {
      const reply = await ask(cut, {}, cutTensor(cut, 'fp16'));
      expect(reply.error?.code ?? '', cut).toBe('');
    }
    expect(worker.stats().sessions.loads).toBe(loaded);
  });

  it('runs the tail and says who ran it', async () => {
    const before = worker.stats();
    const reply = await ask('input');
    expect(reply.error?.code ?? '').toBe('');
    expect(reply.worker_id).toBe(WORKER);
    expect(decodeTensor(reply.output!).shape).toEqual([1, 10]);
    expect(reply.energy_source).toBe('modelled');
    const after = worker.stats();
    expect([after.requests - before.requests, after.replies - before.replies, after.errors]).toEqual([1, 1, {}]);
  });

  it('answers a request it cannot serve with a coded, non-retryable error reply naming the worker, and counts it', async () => {
    const before = worker.stats();
    const unknown = await ask('no-such-cut');
    expect(unknown.error).toMatchObject({ code: ErrorCodes.UNKNOWN_CUT, retryable: false });
    expect(unknown.error!.message).toContain("'no-such-cut'");
    expect(unknown.worker_id).toBe(WORKER);
    expect((await ask('output')).error?.code).toBe(ErrorCodes.UNKNOWN_CUT);
    const late = await ask('input', { deadline_at_ms: Date.now() - 1 });
    expect(late.error).toMatchObject({ code: ErrorCodes.EXPIRED, retryable: false });
    expect(late.worker_id).toBe(WORKER);
    expect(late.output ?? null).toBeNull();
    const after = worker.stats();
    expect(after.requests - before.requests).toBe(3);
    expect(after.replies).toBe(before.replies);
    expect(after.errors).toEqual({ [ErrorCodes.UNKNOWN_CUT]: 2, [ErrorCodes.EXPIRED]: 1 });
  });

  it('refuses what exceeds its queue with a retryable OVERLOADED reply, and serves the rest', async () => {
    // One running, one waiting: a burst that arrives while a tail runs overflows. Bursts until one does.
    const replies: TailReply[] = [];
    for (let burst = 0; burst < 20 && !replies.some((r) => r.error?.code); burst++) {
      replies.push(...await Promise.all(Array.from({ length: 16 }, () => ask('input'))));
    }
    const refused = replies.filter((r) => r.error?.code);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.error).toMatchObject({ code: ErrorCodes.OVERLOADED, retryable: true });
      expect(r.worker_id).toBe(WORKER);
    }
    expect(replies.filter((r) => r.output).length).toBe(replies.length - refused.length);
    expect(worker.stats().errors[ErrorCodes.OVERLOADED]).toBe(refused.length);
  });

  it('decodes inputs into pooled arrays, which take the next requests\' inputs, and gives the right answers', async () => {
    const input = (seed: number) => ({ name: 'input', shape: SHAPE, data: Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => ((i * seed) % 23) / 23 - 0.4) });
    const send = (tensor: TensorProperties) => edge.request({ request_id: unique('r'), model: MODEL, cut: 'input', tensor, edge_id: 'e', sent_at_ms: Date.now() }, { timeoutMs: 30_000 });
    const logits = (reply: TailReply) => Array.from(decodeTensor(reply.output!).data);
    // fp16 needs an array of its own to decode into; the same values sent as fp32 are the reference.
    const a = encodeTensor(input(3), 'fp16');
    const b = encodeTensor(input(7), 'fp16');
    const expected = [await send(encodeTensor(decodeTensor(a), 'fp32')), await send(encodeTensor(decodeTensor(b), 'fp32'))].map(logits);
    const before = worker.stats().inputBuffers;
    const replies = [];
    for (const t of [a, b, a, b]) replies.push(await send(t));
    expect(replies.map(logits)).toEqual([...expected, ...expected]);
    const after = worker.stats().inputBuffers;
    expect(after.misses + after.hits - before.misses - before.hits).toBe(4);
    expect(after.hits - before.hits).toBeGreaterThanOrEqual(3);
    expect(after.out).toBe(0);
  });

  it('gives the inputs back when a later one of the request fails to decode', async () => {
    const good = encodeTensor({ name: 'input', shape: SHAPE, data: new Float32Array(3 * 32 * 32).fill(0.5) }, 'int8');
    const bad = { ...good, name: 'extra', scales: [] };
    const reply = await edge.request({ request_id: unique('r'), model: MODEL, cut: 'input', tensor: good, more_tensors: [bad], edge_id: 'e', sent_at_ms: Date.now() }, { timeoutMs: 30_000 });
    expect(reply.error).toMatchObject({ code: ErrorCodes.BAD_TENSOR });
    expect(reply.error!.message).toContain('"extra"');
    expect(worker.stats().inputBuffers.out).toBe(0);
  });

  it('closes once, however often asked', async () => {
    const w = await startCloudWorker({
      workerId: unique('cloud'), mqttUrl: broker.url, models: { [MODEL]: join(inject('zooDir'), `${MODEL}.onnx`) },
      modelCacheDir: inject('zooDir'), workDir: join(inject('zooDir'), unique('work')), threads: 1,
    });
    const first = w.close();
    expect(w.close()).toBe(first);
    await first;
  });

  it('counts the wait before onnxruntime starts the inference as queueing, not compute', async () => {
    // Work that holds the event loop between the run's call and the inference's start, as other
    // requests' I/O does under load.
    const BUSY_MS = 120;
    const reply = await withBusyInferenceStart(BUSY_MS, () => ask('input'));
    expect(reply.error?.code ?? '').toBe('');
    expect(reply.queue_ms).toBeGreaterThanOrEqual(BUSY_MS);
    expect(reply.compute_ms).toBeLessThan(BUSY_MS);
  });
});
