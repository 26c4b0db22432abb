/**
 * Bring your own model, end to end: every model exported by torch.onnx.export in
 * test/fixtures/models served by an edge node and a cloud worker (aedes on port 0, real ONNX
 * inference) with its model card. Each frame carries the exporter's probe input (every input of
 * the model); each result must equal torch's own outputs: the labelled top-k of a classification
 * card, every output of a "raw" card, edge-only, split at a cut and cloud-only. A dynamic-dims model
 * is served with --dim values; one whose dims stay open is refused at start, by the dim's name.
 * And a Paddle2ONNX export (paddle-ocr-cls, PaddleOCR's text-direction classifier, dims from its
 * card): a text line sent as a PNG, upright and turned 180 degrees, preprocessed by the edge as the
 * card says, answered as the unsplit model answers it in-process.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BrokerHandle } from '../../broker/index.ts';
import { decodeTensor, encodeTensor } from '../../codec/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { ErrorCodes, isDynasplitError } from '../../common/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import { preprocessImage } from '../../image/index.ts';
import { imageInputFor, inspectModel, loadModelCard, openSession, topK } from '../../model/index.ts';
import { configuration, encodePolicy } from '../../policy/index.ts';
import { topics, type FrameProperties, type Result } from '../../schemas/index.ts';
import { runSensor } from '../../sensor/index.ts';
import { resultSink, startEmbeddedPipeline, type EmbeddedPipeline, type ResultSink } from '../helpers/pipeline.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/models');
const unique = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;

interface Expected {
  dims: Record<string, number>;
  inputs: { name: string; shape: number[] }[];
  outputs: { name: string; shape: number[] }[];
  probe: Record<string, number[]>;
  /** Torch's outputs for images beside the model, preprocessed by torchvision as a training script would. */
  imageProbe?: Record<string, number[]>;
}
const expectedOf = (name: string): Expected => JSON.parse(readFileSync(join(FIXTURES, `${name}.expected.json`), 'utf8')) as Expected;
/** The fixture script's deterministic input: x[i] = sin(0.01 i) over the flat index. */
const probeInput = (shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(0.01 * i));

/** Served under their fixture names with the card beside them; the dynamic-dims model with --dim instead of its card's dims. */
const SERVED = ['resnet-tiny', 'vit-tiny-torchvision', 'mlp-constant-weights', 'two-inputs', 'two-outputs', 'fcn-dynamic-hw', 'masked-cnn', 'tabular-mlp', 'gray-cnn'];
const RAW = new Set(['two-outputs', 'fcn-dynamic-hw']);
/** A Paddle2ONNX export, served with its card (and its dims) beside it; no exporter's expected.json. */
const PADDLE = 'paddle-ocr-cls';
const DIMS = { height: 24, width: 40 };

const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-byom-'));
/** A card saying only that the outputs are raw: its dims must come from --dim. */
const rawCard = join(scratch, 'raw.card.json');
writeFileSync(rawCard, JSON.stringify({ output: { kind: 'raw' } }));

let pipeline: EmbeddedPipeline;
let broker: BrokerHandle;
let cloud: CloudWorker;
let edge: EdgeNode;
let sink: ResultSink;
const SENSOR = unique('s');

beforeAll(async () => {
  const models = Object.fromEntries([...SERVED, PADDLE].map((name) => [name, join(FIXTURES, `${name}.onnx`)]));
  pipeline = await startEmbeddedPipeline({ models, cards: { 'fcn-dynamic-hw': rawCard }, dims: DIMS, threads: 1, workDir: join(scratch, unique('work')) }, [SENSOR]);
  ({ broker, cloud, edge, sink } = pipeline);
});

afterAll(async () => {
  await pipeline?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** A frame with the probe in every input of the model: the first as `tensor`, the others in `inputs`, each named. */
function probeFrame(model: string, requestId: string, cut: string): FrameProperties {
  const [first, ...rest] = expectedOf(model).inputs.map((t) => encodeTensor({ name: t.name, shape: t.shape, data: probeInput(t.shape) }, 'fp32'));
  return {
    request_id: requestId, sensor_id: SENSOR, model, budget_ms: 30_000, capture_at_ms: Date.now(), tensor: first, inputs: rest,
    configuration: configuration({ cut, codec: cut === 'output' ? '' : 'fp32' }),
  };
}

/** |got - want| within 1e-4 of the output's own scale, element by element. */
function expectClose(got: ArrayLike<number>, want: number[], what: string): void {
  expect(got.length, what).toBe(want.length);
  const scale = Math.max(...want.map(Math.abs));
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]) / scale, `${what}[${i}]`).toBeLessThan(1e-4);
}

function checkResult(model: string, r: Result, labels?: string[]): void {
  const expected = expectedOf(model);
  expect(r.error?.code ?? '', r.error?.message ?? '').toBe('');
  if (RAW.has(model)) {
    expect(r.top_k).toHaveLength(0);
    expect(r.outputs.map((t) => t.name)).toEqual(expected.outputs.map((o) => o.name));
    for (const [i, message] of r.outputs.entries()) {
      const { shape, data } = decodeTensor(message);
      expect(shape).toEqual(expected.outputs[i].shape);
      expectClose(data, expected.probe[message.name ?? ''], `${model} ${message.name}`);
    }
    return;
  }
  expect(r.outputs).toHaveLength(0);
  const [logits] = expected.outputs;
  const want = topK(Float32Array.from(expected.probe[logits.name]), r.top_k.length);
  const card = join(FIXTURES, `${model}.card.json`);
  const topKOfCard = existsSync(card) ? (JSON.parse(readFileSync(card, 'utf8')) as { output?: { topK?: number } }).output?.topK : undefined;
  expect(r.top_k.length).toBe(Math.min(topKOfCard ?? 5, logits.shape[1]));
  expect(r.top_k.map((p) => p.index)).toEqual(want.map((p) => p.index));
  expectClose(r.top_k.map((p) => p.score ?? 0), want.map((p) => p.score), `${model} scores`);
  expect(r.class_index).toBe(want[0].index);
  expect(r.top_k.map((p) => p.label)).toEqual(want.map((p) => labels?.[p.index] ?? ''));
}

describe.each(SERVED)('%s served through the pipeline with its card', (model) => {
  it('answers the exporter\'s probe with torch\'s outputs: edge-only, split at a cut, cloud-only', async () => {
    const inspection = await inspectModel(join(FIXTURES, `${model}.onnx`), { dims: expectedOf(model).dims });
    const middle = inspection.cutPoints[Math.floor(inspection.cutPoints.length / 2)].name;
    const cuts = ['output', middle, 'input'];
    const labels = model === 'vit-tiny-torchvision'
      ? readFileSync(join(FIXTURES, 'vit-tiny-torchvision.labels.txt'), 'utf8').split('\n').filter(Boolean) : undefined;
    const start = sink.all.length;
    const ids = cuts.map((cut) => unique(`${model}@${cut}`));
    for (const [i, cut] of cuts.entries()) await sink.publishFrame(SENSOR, probeFrame(model, ids[i], cut));
    await sink.waitFor(start + cuts.length);
    for (const [i, cut] of cuts.entries()) {
      const [r] = sink.byId.get(ids[i])!;
      expect(r.configuration?.cut).toBe(cut);
      expect(r.edge_fallback).toBe(false);
      if (cut !== 'output') expect(r.worker_id).toBe(cloud.workerId);
      checkResult(model, r, labels);
    }
  });
});

describe(`${PADDLE}, a Paddle2ONNX export, served through the pipeline with its card`, () => {
  /**
   * The reference is the unsplit model run in-process on the same PNG, preprocessed by the same card
   * (no exporter ran here to give one). The PNG is a rendered line of text, 4:1 like the card's
   * 48x192, so PaddleOCR's own aspect-keeping resize would not pad it.
   */
  async function reference(pngs: Record<string, Uint8Array>): Promise<Record<string, Float32Array>> {
    const path = join(FIXTURES, `${PADDLE}.onnx`);
    const card = loadModelCard(path);
    const image = imageInputFor(card, (await inspectModel(path, { dims: card.card.dims })).inputs);
    const session = await openSession(path, { threads: 1 });
    try {
      const probabilities: Record<string, Float32Array> = {};
      for (const [turn, png] of Object.entries(pngs)) {
        const x = await preprocessImage(png, image.preprocess);
        probabilities[turn] = (await session.run({ [image.tensor]: new ort.Tensor('float32', x, image.shape) }))['softmax_0.tmp_0'].data as Float32Array;
      }
      return probabilities;
    } finally {
      await session.release();
    }
  }

  it('answers a text line, upright and turned 180 degrees, as the full model does: edge-only, split at a middle cut, cloud-only', async () => {
    const upright = readFileSync(join(FIXTURES, `${PADDLE}.text.png`));
    const pngs = { '0': upright, '180': await sharp(upright).rotate(180).png().toBuffer() };
    const card = loadModelCard(join(FIXTURES, `${PADDLE}.onnx`));
    const inspection = await inspectModel(join(FIXTURES, `${PADDLE}.onnx`), { dims: card.card.dims });
    const middle = inspection.cutPoints[Math.floor(inspection.cutPoints.length / 2)].name;
    const full = await reference(pngs);
    const sent = Object.entries(pngs).flatMap(([turn, png]) => ['output', middle, 'input'].map((cut) => ({ turn, png, cut, id: unique(`${PADDLE}-${turn}@${cut}`) })));
    const start = sink.all.length;
    for (const { png, cut, id } of sent) {
      await sink.publishFrame(SENSOR, {
        request_id: id, sensor_id: SENSOR, model: PADDLE, budget_ms: 30_000, capture_at_ms: Date.now(), image: { data: png },
        configuration: configuration({ cut, codec: cut === 'output' ? '' : 'fp32' }),
      });
    }
    await sink.waitFor(start + sent.length);
    for (const { turn, cut, id } of sent) {
      const [r] = sink.byId.get(id)!;
      expect(r.error?.code ?? '', r.error?.message ?? '').toBe('');
      expect(r.configuration?.cut).toBe(cut);
      if (cut !== 'output') expect(r.worker_id).toBe(cloud.workerId);
      // The output is already a softmax: the card's "probabilities" reports it as it is.
      const want = topK(full[turn], 2, false);
      expect(r.class_index, `${turn}@${cut}`).toBe(want[0].index);
      expect(r.top_k.map((p) => p.index)).toEqual(want.map((p) => p.index));
      expectClose(r.top_k.map((p) => p.score ?? 0), want.map((p) => p.score), `${turn}@${cut} scores`);
      // What the classifier is for: the upright line is "0", the turned one "180".
      expect(r.top_k[0].label, `${turn}@${cut}`).toBe(turn);
    }
  });
});

describe('gray-cnn, a grayscale model, served through the pipeline with its card', () => {
  it('answers a colour and a gray PNG as torch answers torchvision\'s Grayscale of them: edge-only, split at a middle cut, cloud-only', async () => {
    const model = 'gray-cnn';
    const { imageProbe } = expectedOf(model);
    const inspection = await inspectModel(join(FIXTURES, `${model}.onnx`));
    const middle = inspection.cutPoints[Math.floor(inspection.cutPoints.length / 2)].name;
    const sent = Object.keys(imageProbe!).flatMap((file) => ['output', middle, 'input'].map((cut) => ({ file, cut, id: unique(`${file}@${cut}`) })));
    const start = sink.all.length;
    for (const { file, cut, id } of sent) {
      await sink.publishFrame(SENSOR, {
        request_id: id, sensor_id: SENSOR, model, budget_ms: 30_000, capture_at_ms: Date.now(), image: { data: readFileSync(join(FIXTURES, file)) },
        configuration: configuration({ cut, codec: cut === 'output' ? '' : 'fp32' }),
      });
    }
    await sink.waitFor(start + sent.length);
    for (const { file, cut, id } of sent) {
      const [r] = sink.byId.get(id)!;
      expect(r.error?.code ?? '', r.error?.message ?? '').toBe('');
      expect(r.configuration?.cut).toBe(cut);
      const want = topK(Float32Array.from(imageProbe![file]), 3);
      expect(r.top_k.map((p) => p.index), `${file}@${cut}`).toEqual(want.map((p) => p.index));
      // A pixel's luma one level off moves these scores by more than this.
      expectClose(r.top_k.map((p) => p.score ?? 0), want.map((p) => p.score), `${file}@${cut} scores`);
    }
  });
});

describe('several inputs and open dims', () => {
  it('cloud-only sends every input: the tensor bytes are the inputs\' together', async () => {
    const id = unique('two-inputs-bytes');
    const start = sink.all.length;
    await sink.publishFrame(SENSOR, probeFrame('two-inputs', id, 'input'));
    await sink.waitFor(start + 1);
    const [r] = sink.byId.get(id)!;
    // fp32: 4 bytes per element of image [1,3,32,32] and meta [1,4].
    expect(r.tensor_bytes).toBe((3 * 32 * 32 + 4) * 4);
  });

  it('a frame lacking an input of the model is answered BAD_INPUT naming it, and the node keeps serving', async () => {
    const id = unique('two-inputs-missing');
    const start = sink.all.length;
    await sink.publishFrame(SENSOR, { ...probeFrame('two-inputs', id, 'input'), inputs: [] });
    await sink.waitFor(start + 1);
    const [r] = sink.byId.get(id)!;
    expect(r.error?.code).toBe(ErrorCodes.BAD_INPUT);
    expect(r.error?.message).toContain("'meta'");
    const again = unique('two-inputs-again');
    await sink.publishFrame(SENSOR, probeFrame('two-inputs', again, 'output'));
    await sink.waitFor(start + 2);
    checkResult('two-inputs', sink.byId.get(again)![0]);
  });

  it('refuses at start, naming the dim, a model whose dims neither its card nor --dim give: edge, cloud and sensor', async () => {
    const fcn = { 'fcn-dynamic-hw': join(FIXTURES, 'fcn-dynamic-hw.onnx') };
    const refused = (err: unknown) => isDynasplitError(err, ErrorCodes.UNRESOLVED_DIM) && err.details?.dim === 'height' && err.message.includes('fcn-dynamic-hw.onnx');
    const common = { mqttUrl: broker.url, models: fcn, cards: { 'fcn-dynamic-hw': rawCard }, threads: 1, workDir: join(scratch, unique('work')) };
    await expect(startEdgeNode({ ...common, edgeId: unique('edge') }).then(() => 'started', (err: unknown) => refused(err))).resolves.toBe(true);
    await expect(startCloudWorker({ ...common, workerId: unique('cloud') }).then(() => 'started', (err: unknown) => refused(err))).resolves.toBe(true);
    const sensor = runSensor({ mqttUrl: broker.url, model: 'fcn-dynamic-hw', modelSource: fcn['fcn-dynamic-hw'], card: rawCard, count: 1 });
    await expect(sensor.then(() => 'ran', (err: unknown) => refused(err))).resolves.toBe(true);
  });

  it('a sensor sends every input the model has, and the answers are the model\'s', async () => {
    const summary = await runSensor({
      sensorId: unique('sensor'), mqttUrl: broker.url, model: 'two-inputs', modelSource: join(FIXTURES, 'two-inputs.onnx'), count: 4, rate: 100, budgets: 'uniform:20000:30000',
    });
    expect(summary.results).toBe(4);
    expect(summary.errors).toBe(0);
  });
});

describe('a cut point whose tensor is not float32 (masked-cnn: a bool mask)', () => {
  const BOOL_CUT = '/Greater_output_0';

  it('is never used: the default policy splits at a float32 cut, and a frame asking for it is answered UNKNOWN_CUT naming its dtype', async () => {
    const inspection = await inspectModel(join(FIXTURES, 'masked-cnn.onnx'));
    expect(inspection.nonFloatCutPoints.map((c) => [c.name, c.dtype])).toEqual([[BOOL_CUT, 'bool']]);
    expect(inspection.cutPoints.map((c) => c.name)).not.toContain(BOOL_CUT);
    // No policy was published for the model: the edge serves its default one, round robin over
    // edge-only, a split and cloud-only. The bool mask is the smallest tensor of the model's first
    // half, which is where the default split is taken.
    const plain = [0, 1, 2].map((i) => unique(`masked-default-${i}`));
    const forced = unique('masked-bool-cut');
    const start = sink.all.length;
    for (const id of plain) await sink.publishFrame(SENSOR, { ...probeFrame('masked-cnn', id, 'output'), configuration: undefined });
    await sink.publishFrame(SENSOR, probeFrame('masked-cnn', forced, BOOL_CUT));
    await sink.waitFor(start + plain.length + 1);
    const cuts = plain.map((id) => {
      const [r] = sink.byId.get(id)!;
      checkResult('masked-cnn', r);
      return r.configuration?.cut;
    });
    expect(new Set(cuts).size).toBe(3);
    expect(cuts).not.toContain(BOOL_CUT);
    const [refused] = sink.byId.get(forced)!;
    expect(refused.error?.code).toBe(ErrorCodes.UNKNOWN_CUT);
    expect(refused.error?.message).toContain('bool');
  });
});

describe('a model that takes no image (tabular-mlp: 10 readings, 3 classes; its card describes no input)', () => {
  it('is served to tensor frames; an image frame is answered BAD_FRAME, and a sensor sends it tensors, not images', async () => {
    const id = unique('tabular-image');
    const start = sink.all.length;
    const png = await sharp(Buffer.alloc(8 * 8 * 3, 128), { raw: { width: 8, height: 8, channels: 3 } }).png().toBuffer();
    await sink.publishFrame(SENSOR, { request_id: id, sensor_id: SENSOR, model: 'tabular-mlp', budget_ms: 30_000, capture_at_ms: Date.now(), image: { data: png } });
    await sink.waitFor(start + 1);
    const [r] = sink.byId.get(id)!;
    expect(r.error?.code).toBe(ErrorCodes.BAD_FRAME);
    expect(r.error?.message).toContain('not an RGB image');
    const common = { mqttUrl: broker.url, model: 'tabular-mlp', modelSource: join(FIXTURES, 'tabular-mlp.onnx'), count: 4, rate: 100, budgets: 'fixed:30000' };
    expect(await runSensor({ ...common, sensorId: unique('tabular') })).toMatchObject({ results: 4, errors: 0 });
    const images = join(scratch, unique('tabular-images'));
    mkdirSync(images);
    writeFileSync(join(images, 'a.png'), png);
    await expect(runSensor({ ...common, sensorId: unique('tabular'), imagesDir: images })).rejects.toThrow(/takes no image: its input 'readings' is float32\[1, 10\]/);
  });
});

describe('images through the card', () => {
  it.each(['vit-tiny-torchvision', 'two-inputs'])('%s: images preprocessed by the sensor and by the edge node, as the card says, give the same answers', async (model) => {
    const dir = join(scratch, unique('images'));
    mkdirSync(dir);
    for (let i = 0; i < 3; i++) {
      const pixels = Buffer.from(Array.from({ length: 50 * 40 * 3 }, (_, p) => (p * (i + 3) * 37 + i * 11) % 256));
      await sharp(pixels, { raw: { width: 50, height: 40, channels: 3 } }).png().toFile(join(dir, `img-${i}.png`));
    }
    // Edge-only, so that no lossy codec stands between the two runs: their answers must be equal.
    await sink.client.publishAsync(topics.policy(model, 'default'), Buffer.from(encodePolicy({
      version: 1, model, edge_class: 'default', rule: 'energy-first', entries: [{ configuration: configuration({ cut: 'output' }) }],
    })), { qos: 1, retain: true });
    await vi.waitFor(() => expect(edge.stats().policies.versions[model]).toBe(1), { timeout: 10_000, interval: 10 });
    const ids = [unique('tensors'), unique('encoded')];
    const images = await resultSink(broker.url, ids);
    try {
      const common = { mqttUrl: broker.url, model, modelSource: join(FIXTURES, `${model}.onnx`), count: 3, rate: 100, budgets: 'fixed:30000', imagesDir: dir };
      for (const [i, sensorId] of ids.entries()) {
        expect(await runSensor({ ...common, sensorId, sendEncoded: i === 1 })).toMatchObject({ requests: 3, results: 3, errors: 0 });
      }
      await images.waitFor(6);
      const answers = (sensor: string) => images.all.filter((r) => r.sensor_id === sensor)
        .sort((a, b) => Number(a.request_id.split('-').pop()) - Number(b.request_id.split('-').pop()))
        .map((r) => r.top_k.map((p) => [p.index, p.score, p.label]));
      expect(answers(ids[1])).toEqual(answers(ids[0]));
      expect(new Set(answers(ids[0]).map((top) => top[0][0])).size + new Set(answers(ids[0]).map((top) => top[0][1])).size).toBeGreaterThan(2);
      if (model === 'vit-tiny-torchvision') expect(answers(ids[0]).flat().every(([, , label]) => label !== '')).toBe(true);
    } finally {
      await images.close();
    }
  });
});
