import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { IMAGENET_MEAN, IMAGENET_STD, UNIT_SCALE } from '../../../image/index.ts';
import {
  cardPath, checkCard, DEFAULT_CARD, imageInputFor, interpretOutputs, loadModelCard, parseModelCard, type TensorDesc,
} from '../../../model/index.ts';

const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-card-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const tensor = (name: string, shape: number[], dtype = 'float32'): TensorDesc => ({ name, shape, dtype, bytesPerSample: 0 });
const bad = (value: unknown, field: string) =>
  expect(() => parseModelCard(value, 'm.card.json')).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_MODEL_CARD', details: expect.objectContaining({ field }) }));

describe('model card: parse and validate', () => {
  it('an empty card is the default card: ImageNet preprocessing at the model size, top-5 classes', () => {
    expect(parseModelCard({}, 'm.card.json')).toEqual(DEFAULT_CARD);
    expect(DEFAULT_CARD.input).toMatchObject({ scale: UNIT_SCALE, layout: 'NCHW', colorOrder: 'RGB' });
    // The statistics follow the input: ImageNet's for an RGB one, none for a grayscale one.
    expect(imageInputFor({ card: DEFAULT_CARD }, [tensor('x', [1, 3, 8, 8])]).preprocess).toMatchObject({ channels: 3, mean: IMAGENET_MEAN, std: IMAGENET_STD });
    expect(imageInputFor({ card: DEFAULT_CARD }, [tensor('x', [1, 1, 8, 8])]).preprocess).toMatchObject({ channels: 1, mean: [0], std: [1] });
  });

  it('reads every field', () => {
    const card = parseModelCard({
      dims: { height: 480, width: 640 },
      input: { tensor: 'image', resize: 256, crop: [224, 224], interpolation: 'bicubic', mean: [0, 0, 0], std: [1, 1, 1], scale: 1, layout: 'NHWC', colorOrder: 'BGR' },
      output: { kind: 'classification', tensor: 'logits', topK: 3, labels: 'labels.txt' },
    }, 'm.card.json');
    expect(card.dims).toEqual({ height: 480, width: 640 });
    expect(card.input).toEqual({ tensor: 'image', resize: 256, crop: [224, 224], interpolation: 'bicubic', mean: [0, 0, 0], std: [1, 1, 1], scale: 1, layout: 'NHWC', colorOrder: 'BGR' });
    expect(card.output).toEqual({ kind: 'classification', tensor: 'logits', topK: 3, labels: 'labels.txt' });
    expect(parseModelCard({ output: { kind: 'raw' } }, 'x').output).toEqual({ kind: 'raw' });
  });

  it('refuses what it cannot mean, naming the field', () => {
    bad([], '');
    bad({ dimz: {} }, 'dimz');
    bad({ dims: { height: 0 } }, 'dims.height');
    bad({ dims: { height: 2.5 } }, 'dims.height');
    bad({ input: { mean: [0.5, 0.5] } }, 'input.mean');
    bad({ input: { mean: [0.5], std: [0.2, 0.2, 0.2] } }, 'input.std');
    bad({ input: { std: [1, 0, 1] } }, 'input.std');
    bad({ input: { layout: 'CHW' } }, 'input.layout');
    bad({ input: { colorOrder: 'rgb' } }, 'input.colorOrder');
    bad({ input: { interpolation: 'cubic' } }, 'input.interpolation');
    bad({ input: { resize: [256] } }, 'input.resize');
    bad({ input: { resize: 200, crop: 224 } }, 'input.resize');
    bad({ input: { scale: -1 } }, 'input.scale');
    bad({ output: { topK: 5 } }, 'output.kind');
    bad({ output: { kind: 'raw', topK: 5 } }, 'output.topK');
    bad({ output: { kind: 'classification', topK: 0 } }, 'output.topK');
  });
});

describe('model card: loading beside a model', () => {
  it('NAME.card.json beside NAME.onnx, labels beside the card, --dim over the card\'s dims', () => {
    const model = join(scratch, 'net.onnx');
    expect(cardPath(model)).toBe(join(scratch, 'net.card.json'));
    writeFileSync(join(scratch, 'net.card.json'), JSON.stringify({ dims: { h: 8, w: 8 }, output: { kind: 'classification', labels: 'labels.txt' } }));
    writeFileSync(join(scratch, 'labels.txt'), 'cat\ndog\n\n');
    const loaded = loadModelCard(model, { dims: { w: 16 } });
    expect(loaded.source).toBe(join(scratch, 'net.card.json'));
    expect(loaded.card.dims).toEqual({ h: 8, w: 16 });
    expect(loaded.labels).toEqual(['cat', 'dog']);
  });

  it('a model without a card gets the default card; a named card file must exist', () => {
    expect(loadModelCard(join(scratch, 'other.onnx'), { dims: { N: 2 } })).toEqual({ card: { ...DEFAULT_CARD, dims: { N: 2 } } });
    expect(() => loadModelCard(join(scratch, 'other.onnx'), { path: join(scratch, 'missing.json') })).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_FILE_NOT_FOUND' }));
  });

  it('invalid JSON and a missing labels file are coded errors naming the card', () => {
    writeFileSync(join(scratch, 'broken.card.json'), '{ "dims": ');
    expect(() => loadModelCard(join(scratch, 'broken.onnx'))).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_MODEL_CARD', message: expect.stringContaining('broken.card.json') }));
    writeFileSync(join(scratch, 'nolabels.card.json'), JSON.stringify({ output: { kind: 'classification', labels: 'none.txt' } }));
    expect(() => loadModelCard(join(scratch, 'nolabels.onnx'))).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_MODEL_CARD', details: expect.objectContaining({ field: 'output.labels' }) }));
  });
});

describe('model card: applied to its model', () => {
  const outputs = [tensor('logits', [1, 3]), tensor('box', [1, 4])];

  it('takes the image size from the model input, in either layout', () => {
    const nchw = imageInputFor({ card: { ...DEFAULT_CARD, input: { ...DEFAULT_CARD.input, resize: 256 } } }, [tensor('x', [1, 3, 224, 224])]);
    expect(nchw).toMatchObject({ tensor: 'x', shape: [1, 3, 224, 224], preprocess: { height: 224, width: 224, resize: 256, layout: 'NCHW' } });
    const nhwc = imageInputFor({ card: { ...DEFAULT_CARD, input: { ...DEFAULT_CARD.input, layout: 'NHWC', tensor: 'img' } } }, [tensor('meta', [1, 4]), tensor('img', [1, 48, 64, 3])]);
    expect(nhwc.preprocess).toMatchObject({ height: 48, width: 64, layout: 'NHWC' });
  });

  it('a grayscale input: one channel, in either layout, with one mean and std', () => {
    const gray = { card: parseModelCard({ input: { mean: [0.1307], std: [0.3081] } }, 'g.card.json') };
    expect(imageInputFor(gray, [tensor('x', [1, 1, 28, 28])])).toMatchObject({ shape: [1, 1, 28, 28], preprocess: { channels: 1, height: 28, width: 28, mean: [0.1307], std: [0.3081] } });
    const nhwc = { card: parseModelCard({ input: { layout: 'NHWC' } }, 'g.card.json') };
    expect(imageInputFor(nhwc, [tensor('x', [1, 28, 28, 1])]).preprocess).toMatchObject({ channels: 1, layout: 'NHWC' });
    // One number per channel: three for a grayscale input, or one for an RGB input, do not fit.
    const field = (f: string) => expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_MODEL_CARD', details: expect.objectContaining({ field: f }) });
    expect(() => imageInputFor({ card: parseModelCard({ input: { mean: [0, 0, 0] } }, 'g') }, [tensor('x', [1, 1, 28, 28])])).toThrow(field('input.mean'));
    expect(() => imageInputFor(gray, [tensor('x', [1, 3, 28, 28])])).toThrow(field('input.mean'));
    expect(() => imageInputFor({ card: DEFAULT_CARD }, [tensor('x', [1, 2, 28, 28])])).toThrow(/not a float32 NCHW image with 3 channels \(RGB\) or 1 \(grayscale\)/);
  });

  it('refuses a card that does not fit the model', () => {
    const code = expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_MODEL_CARD' });
    expect(() => imageInputFor({ card: DEFAULT_CARD }, [tensor('x', [1, 4])])).toThrow(code);
    expect(() => imageInputFor({ card: { ...DEFAULT_CARD, input: { ...DEFAULT_CARD.input, crop: 224 } } }, [tensor('x', [1, 3, 32, 32])])).toThrow(code);
    expect(() => checkCard({ card: DEFAULT_CARD, labels: ['a', 'b'] }, { inputs: [tensor('x', [1, 3, 8, 8])], outputs })).toThrow(code);
    expect(() => checkCard({ card: { ...DEFAULT_CARD, output: { kind: 'classification', topK: 1, tensor: 'nope' } } }, { inputs: [tensor('x', [1, 3, 8, 8])], outputs })).toThrow(code);
    expect(() => checkCard({ card: DEFAULT_CARD, labels: ['a', 'b', 'c'] }, { inputs: [tensor('x', [1, 3, 8, 8])], outputs })).not.toThrow();
    // One value per sample (a regression, a sigmoid): its top-1 would always be class 0.
    expect(() => checkCard({ card: DEFAULT_CARD }, { inputs: [tensor('x', [1, 3, 8, 8])], outputs: [tensor('y', [1, 1])] }))
      .toThrow(/\(default model card\): output.kind is "classification", but output 'y' holds 1 value per sample.*use "raw" \(a card file/);
    expect(() => checkCard({ card: parseModelCard({ output: { kind: 'raw' } }, 'r') }, { inputs: [tensor('x', [1, 3, 8, 8])], outputs: [tensor('y', [1, 1])] })).not.toThrow();
  });

  it('classification: softmax top-k of the named output with labels; raw: every output as it is', () => {
    const run = {
      logits: new ort.Tensor('float32', new Float32Array([0, 2, 1]), [1, 3]),
      box: new ort.Tensor('float32', new Float32Array([0.1, 0.2, 0.3, 0.4]), [1, 4]),
    };
    const answer = interpretOutputs({ card: { ...DEFAULT_CARD, output: { kind: 'classification', topK: 2 } }, labels: ['a', 'b', 'c'] }, run);
    expect(answer.kind === 'classification' && answer.predictions.map((p) => p.label)).toEqual(['b', 'c']);
    const raw = interpretOutputs({ card: { ...DEFAULT_CARD, output: { kind: 'raw' } } }, run);
    expect(raw.kind === 'raw' && Object.keys(raw.tensors)).toEqual(['logits', 'box']);
  });

  it('a classification whose output is not finite (an input that overflows the model) is an INFERENCE error, not NaN scores', () => {
    const card = { card: { ...DEFAULT_CARD, output: { kind: 'classification' as const, topK: 2 } } };
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const run = { logits: new ort.Tensor('float32', new Float32Array([0, bad, 1]), [1, 3]) };
      expect(() => interpretOutputs(card, run)).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_INFERENCE', details: { tensor: 'logits' } }));
    }
    // A class masked out with -Infinity is a logit like any other: its softmax score is 0.
    const masked = interpretOutputs(card, { logits: new ort.Tensor('float32', new Float32Array([0, Number.NEGATIVE_INFINITY, 1]), [1, 3]) });
    expect(masked.kind === 'classification' && masked.predictions.map((p) => p.index)).toEqual([2, 0]);
  });

  it('scores "probabilities": an output that is already a softmax is reported as it is, not softmaxed again', () => {
    const card = parseModelCard({ output: { kind: 'classification', topK: 2, scores: 'probabilities' } }, 'p.card.json');
    const run = { prob: new ort.Tensor('float32', new Float32Array([0.9, 0.1]), [1, 2]) };
    const answer = interpretOutputs({ card }, run);
    expect(answer.kind === 'classification' && answer.predictions).toEqual([{ index: 0, score: expect.closeTo(0.9, 6) }, { index: 1, score: expect.closeTo(0.1, 6) }]);
    // The default, logits: softmax([0.9, 0.1]) would report 0.69 for the first class.
    const logits = interpretOutputs({ card: parseModelCard({ output: { kind: 'classification', topK: 1 } }, 'l.card.json') }, run);
    expect(logits.kind === 'classification' && logits.predictions[0].score).toBeCloseTo(1 / (1 + Math.exp(-0.8)), 6);
    expect(() => parseModelCard({ output: { kind: 'classification', scores: 'softmax' } }, 'c.json')).toThrow(/output\.scores/);
    expect(() => parseModelCard({ output: { kind: 'raw', scores: 'probabilities' } }, 'c.json')).toThrow(/output\.scores/);
  });
});
