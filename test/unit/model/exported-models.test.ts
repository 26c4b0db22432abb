/**
 * Models exported by torch.onnx.export (test/fixtures/models, made by scripts/make-model-fixtures.py):
 * inspected sizes agree with what the exporter and ONNX's own shape inference say, the full model
 * reproduces torch's outputs, and every split reproduces the full model. And one Paddle2ONNX export
 * shipped by others (paddle-ocr-cls, test/fixtures/models/PADDLE.md): its weights counted from the
 * protobuf wire format, every split against the full model, refused without its dims.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../common/index.ts';
import { argmax, checkCard, inspectModel, loadModelCard, openSession, referenceClassesOf, verifyModel } from '../../../model/index.ts';
import { storedTensorsOnWire, type WireTensor } from '../../helpers/onnx-wire.ts';

const dir = join(import.meta.dirname, '../../fixtures/models');

interface Expected {
  dims: Record<string, number>;
  inputs: { name: string; shape: number[] }[];
  outputs: { name: string; shape: number[] }[];
  exportedParams: number;
  tensorShapes: Record<string, number[]>;
  torchShapes: Record<string, number[]>;
  probe: Record<string, number[]>;
}

const FIXTURES = ['resnet-tiny', 'vit-tiny-torchvision', 'mlp-constant-weights', 'fcn-dynamic-hw', 'two-inputs', 'two-outputs', 'masked-cnn', 'tabular-mlp'];

const expectedOf = (name: string): Expected => JSON.parse(readFileSync(join(dir, `${name}.expected.json`), 'utf8')) as Expected;

/** Elements of the stored tensors that `keep` selects. */
const elements = (tensors: WireTensor[], keep: (t: WireTensor) => boolean) => tensors.filter(keep).reduce((s, t) => s + t.dims.reduce((a, b) => a * b, 1), 0);
/** onnx's TensorProto.DataType: FLOAT 1, INT64 7, BOOL 9. */
const isFloatWeight = (t: WireTensor) => t.dataType === 1 && t.dims.length > 0;

/** The script's deterministic input: x[i] = sin(0.01 i) over the flat index. */
const probeInput = (shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(0.01 * i));

describe.each(FIXTURES)('%s, as torch.onnx.export wrote it', (name) => {
  const path = join(dir, `${name}.onnx`);
  const expected = expectedOf(name);

  it('inspects to the exporter\'s shapes and parameter count, and every cut to ONNX shape inference\'s size', async () => {
    const r = await inspectModel(path, { dims: expected.dims });
    expect(r.params).toBe(expected.exportedParams);
    expect(r.inputs.map((t) => [t.name, t.shape])).toEqual(expected.inputs.map((t) => [t.name, t.shape]));
    expect(r.outputs.map((t) => [t.name, t.shape])).toEqual(expected.outputs.map((t) => [t.name, t.shape]));
    expect(r.defaultedBatch).toEqual(['batch']);
    // Every cut's size by an implementation other than dynasplit's: ONNX shape inference, or torch
    // itself where shape inference cannot follow the exporter's Shape/Gather/Div arithmetic.
    const known = r.cutPoints.filter((c) => expected.tensorShapes[c.name] ?? expected.torchShapes[c.name]);
    expect(known.length).toBeGreaterThanOrEqual(Math.ceil(r.cutPoints.length / 2));
    for (const cut of known) {
      expect(cut.shape, cut.name).toEqual(expected.tensorShapes[cut.name] ?? expected.torchShapes[cut.name]);
      expect(cut.bytesPerSample).toBe(cut.shape.reduce((a, b) => a * b, 1) * 4);
    }
    const inputBytes = expected.inputs.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 4), 0);
    expect(r.input.bytesPerSample).toBe(inputBytes);
    expect(r.output.tensors.map((t) => t.name)).toEqual(expected.outputs.map((t) => t.name));
    checkCard(loadModelCard(path), r);
    // The wire-format reader the Paddle2ONNX export is counted with agrees with onnx's own count here.
    expect(elements(storedTensorsOnWire(readFileSync(path)), isFloatWeight)).toBe(expected.exportedParams);
  });

  it('runs to torch\'s own outputs', async () => {
    const session = await openSession(path, { threads: 1 });
    try {
      const feeds = Object.fromEntries(expected.inputs.map((t) => [t.name, new ort.Tensor('float32', probeInput(t.shape), t.shape)]));
      const out = await session.run(feeds);
      expect(Object.keys(out)).toEqual(expected.outputs.map((t) => t.name));
      for (const [output, want] of Object.entries(expected.probe)) {
        const got = out[output].data as Float32Array;
        const scale = Math.max(...want.map(Math.abs));
        expect(scale).toBeGreaterThan(1e-3);
        want.forEach((w, i) => expect(Math.abs(got[i] - w) / scale, `${output}[${i}]`).toBeLessThan(1e-4));
      }
    } finally {
      await session.release();
    }
  });

  it('splits at every cut into parts that reproduce the full model', async () => {
    const [report, inspection] = await Promise.all([
      verifyModel(path, { inputs: 2, threads: 1, codecs: ['fp32'], dims: expected.dims }),
      inspectModel(path, { dims: expected.dims }),
    ]);
    expect(report.cuts.map((c) => c.cut)).toEqual(['input', ...[...inspection.cutPoints, ...inspection.nonFloatCutPoints].map((c) => c.name)]);
    for (const cut of report.cuts) {
      expect(cut.outputs.map((o) => [o.name, o.verdict]), cut.cut).toEqual(expected.outputs.map((t) => [t.name, 'ok']));
    }
    expect(report.unjudged).toEqual([]);
    expect(report.ok).toBe(true);
  });
});

describe('reference answers of a model with several inputs', () => {
  it('feed every input by name: the top-1 class is torch\'s on the exporter\'s probe', async () => {
    const expected = expectedOf('two-inputs');
    const path = join(dir, 'two-inputs.onnx');
    const inspection = await inspectModel(path);
    const probe = Object.fromEntries(expected.inputs.map((t) => [t.name, probeInput(t.shape)]));
    const [logits] = expected.outputs.map((t) => expected.probe[t.name]);
    expect(await referenceClassesOf(path, inspection.inputs, [probe])).toEqual([argmax(logits)]);
    // A missing input is refused by name, not fed as zeros.
    const { meta: _meta, ...imageOnly } = probe;
    await expect(referenceClassesOf(path, inspection.inputs, [imageOnly])).rejects.toMatchObject({ code: 'DYNASPLIT_ERR_BAD_INPUT', message: expect.stringContaining("'meta'") });
  });
});

/**
 * PaddleOCR's text-direction classifier as Paddle2ONNX wrote it: every weight in a Constant node, the
 * input's height and width symbolic (p2o.DynamicDimension.1/2). No exporter runs here, so there is no
 * expected.json: its weights are counted from the file's protobuf wire format, and its reference
 * outputs are the unsplit model's, run by onnxruntime.
 */
describe('paddle-ocr-cls, as Paddle2ONNX exported it', () => {
  const path = join(dir, 'paddle-ocr-cls.onnx');
  const card = loadModelCard(path);
  const dims = card.card.dims;

  it('is the shipped file, byte for byte, as PADDLE.md records it', () => {
    const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
    expect(readFileSync(join(dir, 'PADDLE.md'), 'utf8')).toContain(`\`${sha256}\``);
  });

  it('inspects at the card\'s 48x192: parameters are its Constant-node weights, counted from the protobuf', async () => {
    expect(dims).toEqual({ 'p2o.DynamicDimension.1': 48, 'p2o.DynamicDimension.2': 192 });
    const stored = storedTensorsOnWire(readFileSync(path));
    expect(stored.filter((t) => t.storage === 'initializer')).toEqual([]);
    const r = await inspectModel(path, { dims });
    // 133,628 float weight elements (213 tensors), plus one int32 [1] Constant (Reshape's target width,
    // 200): a parameter by inspect's rule (rank >= 1, not int64 or bool), so 133,629 in all.
    expect(elements(stored, isFloatWeight)).toBe(133_628);
    expect(r.params).toBe(elements(stored, (t) => t.dims.length > 0 && t.dataType !== 7 && t.dataType !== 9));
    expect(r.params).toBe(133_629);
    expect(r.paramBytes).toBe(stored.reduce((s, t) => s + t.dataBytes, 0));
    expect(r.inputs.map((t) => [t.name, t.shape])).toEqual([['x', [1, 3, 48, 192]]]);
    expect(r.outputs.map((t) => [t.name, t.shape])).toEqual([['softmax_0.tmp_0', [1, 2]]]);
    expect(r.defaultedBatch).toEqual(['p2o.DynamicDimension.0']);
    expect(r.cutPoints).toHaveLength(59);
    checkCard(card, r);
    expect(card.labels).toEqual(['0', '180']);
  });

  it('is refused without its dims, naming the first open one', async () => {
    await expect(inspectModel(path)).rejects.toMatchObject({
      code: ErrorCodes.UNRESOLVED_DIM, details: expect.objectContaining({ dim: 'p2o.DynamicDimension.1' }), message: expect.stringContaining("'p2o.DynamicDimension.1'"),
    });
  });

  it('splits at every cut into parts that reproduce the full model', async () => {
    const [report, inspection] = await Promise.all([
      verifyModel(path, { inputs: 2, threads: 1, codecs: ['fp32'], dims }),
      inspectModel(path, { dims }),
    ]);
    expect(report.cuts.map((c) => c.cut)).toEqual(['input', ...[...inspection.cutPoints, ...inspection.nonFloatCutPoints].map((c) => c.name)]);
    for (const cut of report.cuts) expect(cut.outputs.map((o) => [o.name, o.verdict]), cut.cut).toEqual([['softmax_0.tmp_0', 'ok']]);
    expect(report.unjudged).toEqual([]);
    expect(report.ok).toBe(true);
  });
});
