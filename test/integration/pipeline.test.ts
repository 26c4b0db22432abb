/**
 * The embedded path end to end (the demo's code path): aedes broker, cloud worker and edge node in
 * this process, talking MQTT over loopback TCP; frames from a test client; answers checked against
 * the unsplit model run locally.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { encodeTensor } from '../../codec/index.ts';
import type { CloudWorker } from '../../cloud-worker/index.ts';
import type { EdgeNode } from '../../edge-node/index.ts';
import { encodePolicy, configuration } from '../../policy/index.ts';
import { Frame, Result, topics } from '../../schemas/index.ts';
import { seededRandom } from '../helpers/random.ts';
import { frame, inputs, referenceClasses, startEmbeddedPipeline, type EmbeddedPipeline, type ResultSink } from '../helpers/pipeline.ts';

const MODEL = 'vgg16-tiny';
const SHAPE = [1, 3, 32, 32];
const zoo = inject('zooDir');
const modelPath = () => join(zoo, `${MODEL}.onnx`);
const unique = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;

let pipeline: EmbeddedPipeline;
let cloud: CloudWorker;
let edge: EdgeNode;
let sink: ResultSink;
const SENSOR = unique('s');

beforeAll(async () => {
  pipeline = await startEmbeddedPipeline({ models: { [MODEL]: modelPath() }, threads: 1 }, [SENSOR]);
  ({ cloud, edge, sink } = pipeline);
});

afterAll(async () => {
  await pipeline?.close();
});

describe('embedded pipeline', () => {
  it('answers every frame correctly, rotating edge-only, split and cloud-only', async () => {
    const data = inputs(SHAPE, 30);
    const expected = await referenceClasses(modelPath(), SHAPE, data);
    const start = sink.all.length;
    for (const [i, x] of data.entries()) await sink.publishFrame(SENSOR, frame(`ok-${i}`, SENSOR, MODEL, SHAPE, x));
    await sink.waitFor(start + data.length);
    const names = new Set<string>();
    let agree = 0;
    for (const [i] of data.entries()) {
      const results = sink.byId.get(`ok-${i}`)!;
      expect(results).toHaveLength(1);
      const [r] = results;
      expect(r.error?.code ?? '').toBe('');
      names.add(r.configuration!.name ?? '');
      expect(r.top_k[0].index).toBe(r.class_index);
      if (r.configuration!.codec === 'fp32' || r.configuration!.cut === 'output') expect(r.class_index).toBe(expected[i]);
      if (r.class_index === expected[i]) agree++;
      if (r.configuration!.cut !== 'output') expect(r.worker_id).toBe(cloud.workerId);
      // End to end holds the edge's and the cloud's compute (a part that is 0 where that side ran nothing).
      const l = r.latency!;
      const computeMs = (l.edge_compute_ms ?? 0) + (l.cloud_compute_ms ?? 0);
      expect(computeMs).toBeGreaterThan(0);
      expect(l.end_to_end_ms).toBeGreaterThanOrEqual(computeMs);
      // The frame leg, capture to arrival (one host, one clock), is a part of end to end (a whole ms, as its capture stamp).
      expect(l.frame_ms).toBeGreaterThan(0);
      expect(l.frame_ms).toBeLessThanOrEqual(l.end_to_end_ms! + 1);
      // The cloud's own parts where a worker answered (decoding the tensor it got, encoding the
      // outputs), none where the edge ran everything; the edge's making of this Result, always.
      if (r.worker_id) {
        expect(l.cloud_decode_ms).toBeGreaterThan(0);
        expect(l.cloud_encode_ms).toBeGreaterThan(0);
      } else {
        expect(l.cloud_decode_ms ?? 0).toBe(0);
        expect(l.cloud_encode_ms ?? 0).toBe(0);
      }
      expect(l.result_ms).toBeGreaterThan(0);
      expect(l.result_ms).toBeLessThanOrEqual(l.end_to_end_ms! + 1);
    }
    expect([...names].sort()).toEqual(['cloud-only/fp32', 'edge-only', 'split@features.pool2/fp16']);
    expect(agree).toBeGreaterThanOrEqual(28);
  });

  it('answers every bad frame with a coded error and keeps serving', async () => {
    const [x] = inputs(SHAPE, 1, 99);
    const cases: [string, Uint8Array, string][] = [
      ['garbage', new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), 'DYNASPLIT_ERR_BAD_FRAME'],
      ['wrong-shape', Frame.encode(Frame.create(frame('wrong-shape', SENSOR, MODEL, [1, 3, 16, 16], x.subarray(0, 768)))).finish(), 'DYNASPLIT_ERR_BAD_INPUT'],
      ['unknown-model', Frame.encode(Frame.create(frame('unknown-model', SENSOR, 'resnet-nope', SHAPE, x))).finish(), 'DYNASPLIT_ERR_UNKNOWN_MODEL'],
      ['expired', Frame.encode(Frame.create({ ...frame('expired', SENSOR, MODEL, SHAPE, x), capture_at_ms: Date.now() - 10_000, budget_ms: 50 })).finish(), 'DYNASPLIT_ERR_EXPIRED'],
      ['no-input', Frame.encode(Frame.create({ ...frame('no-input', SENSOR, MODEL, SHAPE, x), tensor: null })).finish(), 'DYNASPLIT_ERR_BAD_FRAME'],
      ['bad-tensor', Frame.encode(Frame.create({ ...frame('bad-tensor', SENSOR, MODEL, SHAPE, x), tensor: { ...encodeTensor({ name: 'input', shape: SHAPE, data: x }, 'fp32'), data: new Uint8Array(10) } })).finish(), 'DYNASPLIT_ERR_BAD_TENSOR'],
      ['oversize', Frame.encode(Frame.create({ ...frame('oversize', SENSOR, MODEL, SHAPE, x), image: { data: new Uint8Array(17 * 1024 * 1024) }, tensor: null })).finish(), 'DYNASPLIT_ERR_PAYLOAD_TOO_LARGE'],
    ];
    const start = sink.all.length;
    for (const [, payload] of cases) await sink.publishRaw(SENSOR, payload);
    await sink.waitFor(start + cases.length);
    const codes = sink.all.slice(start).map((r) => r.error?.code);
    expect(codes.sort()).toEqual(cases.map(([, , code]) => code).sort());
    for (const [id, , code] of cases.filter(([id]) => !['garbage', 'oversize'].includes(id))) {
      expect(sink.byId.get(id)?.[0].error?.code).toBe(code);
    }
  });

  it('1,000 garbage payloads among valid frames: every valid frame answered correctly, every garbage one with an error', async () => {
    const random = seededRandom(5);
    const data = inputs(SHAPE, 50, 7);
    const expected = await referenceClasses(modelPath(), SHAPE, data);
    const errorsBefore = Object.values(edge.stats().errors).reduce((a, b) => a + b, 0);
    const start = sink.all.length;
    let valid = 0;
    for (let i = 0; i < 1050; i++) {
      if (i % 21 === 0 && valid < data.length) {
        await sink.publishFrame(SENSOR, frame(`mixed-${valid}`, SENSOR, MODEL, SHAPE, data[valid]));
        valid++;
      } else {
        const garbage = new Uint8Array(1 + Math.floor(random() * 200));
        for (let k = 0; k < garbage.length; k++) garbage[k] = Math.floor(random() * 256);
        await sink.publishRaw(SENSOR, garbage);
      }
    }
    expect(valid).toBe(50);
    await sink.waitFor(start + 1050, 60_000);
    const mixed = sink.all.slice(start);
    const answers = mixed.filter((r) => r.request_id.startsWith('mixed-'));
    expect(answers).toHaveLength(50);
    for (const r of answers) {
      expect(r.error?.code ?? '').toBe('');
      const i = Number(r.request_id.slice('mixed-'.length));
      if (r.configuration!.codec !== 'fp16') expect(r.class_index).toBe(expected[i]);
    }
    const errors = mixed.filter((r) => r.error?.code);
    expect(errors).toHaveLength(1000);
    expect(errors.every((r) => r.error?.code?.startsWith('DYNASPLIT_ERR_'))).toBe(true);
    const errorsAfter = Object.values(edge.stats().errors).reduce((a, b) => a + b, 0);
    expect(errorsAfter - errorsBefore).toBe(1000);
  });

  it('a duplicate frame is not run twice; its result is sent again', async () => {
    const [x] = inputs(SHAPE, 1, 3);
    const f = frame(unique('dup'), SENSOR, MODEL, SHAPE, x);
    const before = edge.stats();
    const start = sink.all.length;
    await sink.publishFrame(SENSOR, f);
    await sink.waitFor(start + 1);
    await sink.publishFrame(SENSOR, f);
    await sink.waitFor(start + 2);
    const [first, second] = sink.byId.get(f.request_id!)!;
    expect(Result.encode(second).finish()).toEqual(Result.encode(first).finish());
    const after = edge.stats();
    expect(after.duplicates - before.duplicates).toBe(1);
    expect(after.results - before.results).toBe(1);
  });

  it('follows a retained policy from the broker, and ignores a forged one', async () => {
    const controller = sink.client;
    const policyTopic = topics.policy(MODEL, 'default');
    const only = configuration({ cut: 'features.pool3', codec: 'int8-channel' });
    await controller.publishAsync(policyTopic, Buffer.from(encodePolicy({
      version: 1, model: MODEL, edge_class: 'default', rule: 'energy-first', source: 'measured',
      entries: [{ configuration: only, latency_ms: 1, latency_p95_ms: 2, energy_j: 1, accuracy: 1 }],
    })), { qos: 1, retain: true });
    await vi.waitFor(() => expect(edge.stats().policies.versions[MODEL]).toBe(1), { timeout: 10_000, interval: 20 });
    const rejectedBefore = edge.stats().policies.rejected;
    await controller.publishAsync(policyTopic, Buffer.from(encodePolicy({
      version: 2, model: MODEL, edge_class: 'default', rule: 'energy-first',
      entries: [{ configuration: configuration({ cut: 'no.such.cut', codec: 'fp32' }) }],
    })), { qos: 1, retain: true });
    await vi.waitFor(() => expect(edge.stats().policies.rejected).toBe(rejectedBefore + 1), { timeout: 10_000, interval: 20 });
    const data = inputs(SHAPE, 6, 21);
    const start = sink.all.length;
    for (const [i, x] of data.entries()) await sink.publishFrame(SENSOR, frame(`pol-${i}`, SENSOR, MODEL, SHAPE, x));
    await sink.waitFor(start + data.length);
    for (const r of sink.all.slice(start)) expect(r.configuration!.name).toBe(only.name);
    // Clearing the retained policy returns the node to its default.
    await controller.publishAsync(policyTopic, Buffer.alloc(0), { qos: 1, retain: true });
    await vi.waitFor(() => expect(edge.stats().policies.versions[MODEL]).toBe(0), { timeout: 10_000, interval: 20 });
  });
});
