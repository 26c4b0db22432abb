/**
 * What a user's own model meets: open dims are asked for, never taken as 1; operator output types
 * follow each operator's rule; errors name the user's file; verify judges outputs by their own scale;
 * several outputs come back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { cutRefusal, FP16_CUT_TOLERANCE, FP32_TOLERANCE, inspectModel, loadModelCard, loadModelFile, ModelStore, SessionCache, splitModel, splitModelFile, verifyModel } from '../../../model/index.ts';
import { DataType, writeModelFile } from '../../../model/onnx/index.ts';
import { floatInit, floatValue, model, node } from '../../helpers/onnx.ts';

const fixtures = join(import.meta.dirname, '../../fixtures/models');
const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-own-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const coded = (code: string, fields: Record<string, unknown> = {}) => expect.objectContaining({ code, ...fields });

describe('symbolic dims', () => {
  const fcn = join(fixtures, 'fcn-dynamic-hw.onnx');

  it('an open spatial dim is refused with its name, by inspect, verify and split', async () => {
    await expect(inspectModel(fcn)).rejects.toThrow(coded('DYNASPLIT_ERR_UNRESOLVED_DIM', { details: expect.objectContaining({ dim: 'height', tensor: 'input' }) }));
    await expect(inspectModel(fcn, { dims: { height: 24 } })).rejects.toThrow(coded('DYNASPLIT_ERR_UNRESOLVED_DIM', { message: expect.stringContaining("'width'") }));
    await expect(verifyModel(fcn, { inputs: 1 })).rejects.toThrow(coded('DYNASPLIT_ERR_UNRESOLVED_DIM'));
    expect(() => splitModelFile(fcn, 'input', join(scratch, 'fcn'), { dims: { height: 24 } })).toThrow(coded('DYNASPLIT_ERR_UNRESOLVED_DIM'));
  });

  it('given dims size the output too (declared mask_height x mask_width), and the card gives them', async () => {
    const r = await inspectModel(fcn, { dims: { height: 48, width: 64 } });
    expect(r.outputs[0].shape).toEqual([1, 5, 12, 16]);
    expect(r.defaultedBatch).toEqual(['batch']);
    const card = loadModelCard(fcn);
    expect((await inspectModel(fcn, { dims: card.card.dims })).outputs[0].shape).toEqual([1, 5, 6, 10]);
  });

  it('split --dim writes parts with the dims fixed', () => {
    const files = splitModelFile(fcn, 'output', join(scratch, 'fcn-fixed'), { dims: { height: 24, width: 40 } });
    const dims = loadModelFile(files.headPath!).model.graph.input[0].type?.tensor_type?.shape?.dim;
    expect(dims?.map((d) => d.dim_param || d.dim_value)).toEqual(['batch', 3, 24, 40]);
  });

  it('dims a file declares as unk__N (ONNX shape inference) are measured, never taken as 1', async () => {
    const path = join(scratch, 'unk.onnx');
    writeModelFile(path, model([node('Concat', ['x', 'x'], ['c'], [{ name: 'axis', type: 2, i: 1 }]), node('Relu', ['c'], ['y'])], {
      inputs: [floatValue('x', ['N', 4])], outputs: [floatValue('y', ['N', 8])], valueInfo: [floatValue('c', ['unk__0', 'unk__1'])],
    }));
    const r = await inspectModel(path);
    expect(r.cutPoints.map((c) => [c.name, c.shape, c.bytesPerSample])).toEqual([['c', [1, 8], 32]]);
    expect(r.shapes).toBe('probed');
  });

  it('only the first dim of an input is a batch: an open second dim is refused even when named like a batch', async () => {
    const path = join(scratch, 'n-second.onnx');
    writeModelFile(path, model([node('Relu', ['x'], ['y'])], { inputs: [floatValue('x', [2, 'N'])], outputs: [floatValue('y', [2, 'N'])] }));
    await expect(inspectModel(path)).rejects.toThrow(coded('DYNASPLIT_ERR_UNRESOLVED_DIM', { details: expect.objectContaining({ dim: 'N' }) }));
    expect((await inspectModel(path, { dims: { N: 3 } })).inputs[0].shape).toEqual([2, 3]);
  });
});

describe('operator output types', () => {
  it('a Where on a bool condition yields its values\' type: the model inspects, splits and verifies at the Where', async () => {
    const path = join(scratch, 'where.onnx');
    const m = model([
      node('Greater', ['x', 'zero'], ['c']),
      node('Where', ['c', 'x', 'zero'], ['w']),
      node('Shape', ['w'], ['s']),
      node('Cast', ['s'], ['sf'], [{ name: 'to', type: 2, i: DataType.FLOAT }]),
      node('ReduceSum', ['sf'], ['n'], [{ name: 'keepdims', type: 2, i: 1 }]),
      node('Mul', ['w', 'n'], ['y']),
    ], { initializers: [floatInit('zero', [1], [0])] });
    writeModelFile(path, m);
    const r = await inspectModel(path);
    expect(r.cutPoints.map((c) => [c.name, c.dtype])).toEqual([['w', 'float32']]);
    expect(splitModel(m, 'w').tail?.graph.input[0].type?.tensor_type?.elem_type).toBe(DataType.FLOAT);
    expect((await verifyModel(path, { inputs: 2, codecs: ['fp32'] })).ok).toBe(true);
  });
});

describe('errors name the user\'s file', () => {
  it('a model onnxruntime cannot load, met while measuring shapes, is named by its path, not the probe\'s copy', async () => {
    const path = join(scratch, 'unknown-op.onnx');
    writeModelFile(path, model([node('NoSuchOp', ['x'], ['a']), node('Relu', ['a'], ['y'])]));
    const err = await inspectModel(path).then(() => new Error('loaded'), (e: unknown) => e as Error);
    expect(err).toMatchObject({ code: 'DYNASPLIT_ERR_BAD_MODEL' });
    expect(err.message).toContain(path);
    expect(err.message).not.toContain('probe.onnx');
  });
});

describe('verify judges each output by its own scale', () => {
  /** y = x * k, plus `noise` times a fresh random draw on every run (a split re-draws it). */
  function scaled(name: string, k: number, noise: number): string {
    const path = join(scratch, `${name}.onnx`);
    writeModelFile(path, model([
      node('Relu', ['x'], ['a']),
      node('RandomUniformLike', ['a'], ['r']),
      node('Mul', ['r', 'noise'], ['rn']),
      node('Mul', ['a', 'k'], ['ak']),
      node('Add', ['ak', 'rn'], ['y']),
    ], { initializers: [floatInit('k', [1], [k]), floatInit('noise', [1], [noise])] }));
    return path;
  }

  it('an error 1e-7 on outputs of ~1e-6 fails (it passed a fixed 1e-5 tolerance)', async () => {
    const report = await verifyModel(scaled('noisy-small', 1e-6, 1e-7), { inputs: 2, codecs: ['fp32'] });
    expect(report.ok).toBe(false);
    expect(report.cuts.every((c) => c.outputs[0].verdict === 'fail')).toBe(true);
  });

  it('exact outputs of ~1e-9 pass; outputs too small to judge are flagged, not passed', async () => {
    expect((await verifyModel(scaled('tiny', 1e-9, 0), { inputs: 2, codecs: ['fp32'] })).ok).toBe(true);
    const report = await verifyModel(scaled('vanishing', 1e-36, 0), { inputs: 2, codecs: ['fp32'] });
    expect(report.ok).toBe(false);
    expect(report.unjudged).toEqual(['y']);
    expect(report.cuts[0].outputs[0].verdict).toBe('too-small');
  });
});

describe('cut points whose tensor is not float32', () => {
  it('a bool mask: model split and verify take the cut, without codecs; the pipeline\'s cuts leave it out, saying why', async () => {
    const path = join(scratch, 'bool-cut.onnx');
    writeModelFile(path, model([
      node('Relu', ['x'], ['a']),
      node('Greater', ['a', 'threshold'], ['mask']),
      node('Cast', ['mask'], ['f'], [{ name: 'to', type: 2, i: DataType.FLOAT }]),
      node('Mul', ['f', 'k'], ['y']),
    ], { initializers: [floatInit('threshold', [1], [0.1]), floatInit('k', [1], [3])] }));
    const r = await inspectModel(path);
    expect(r.cutPoints.map((c) => c.name)).toEqual(['a', 'f']);
    expect(r.nonFloatCutPoints.map((c) => [c.name, c.dtype, c.bytesPerSample])).toEqual([['mask', 'bool', 4]]);
    expect(cutRefusal(r.nonFloatCutPoints, 'm', 'mask')).toBe("m's cut 'mask' carries a bool tensor; the pipeline sends float32 tensors only (docs/models.md, \"Cut points\")");
    expect(cutRefusal(r.nonFloatCutPoints, 'm', 'zz')).toBe("m has no cut 'zz' (see dynasplit model inspect)");
    expect(splitModelFile(path, 'mask', join(scratch, 'bool-cut')).headPath).toBeDefined();
    const report = await verifyModel(path, { inputs: 2 });
    expect(report.ok).toBe(true);
    const byCut = new Map(report.cuts.map((c) => [c.cut, c]));
    expect([...byCut.keys()]).toEqual(['input', 'a', 'f', 'mask']);
    expect(byCut.get('mask')).toMatchObject({ dtype: 'bool', codecs: [], fp32Ok: true });
    expect(byCut.get('a')!.codecs).toHaveLength(6);
    const store = new ModelStore({ workDir: join(scratch, 'bool-store'), sessions: new SessionCache({ threads: 1 }) });
    expect((await store.add('m', path)).cuts).toEqual(['input', 'a', 'f', 'output']);
  });

  it('float16 inside: a split rounds to binary16 at the cut, which onnxruntime leaves out of the whole model; judged to FP16_CUT_TOLERANCE', async () => {
    // onnxruntime's CPU Relu has no float16 kernel: it runs it in float32 between casts it adds, and
    // then drops the Cast to float16 and back that this leaves, so the whole model never rounds.
    const path = join(scratch, 'half-cut.onnx');
    writeModelFile(path, model([
      node('Cast', ['x'], ['h'], [{ name: 'to', type: 2, i: DataType.FLOAT16 }]),
      node('Relu', ['h'], ['r']),
      node('Cast', ['r'], ['y'], [{ name: 'to', type: 2, i: DataType.FLOAT }]),
    ], { inputs: [floatValue('x', ['N', 64])], outputs: [floatValue('y', ['N', 64])] }));
    const report = await verifyModel(path, { inputs: 2 });
    const half = report.cuts.filter((c) => c.dtype === 'float16');
    expect(half.map((c) => c.cut)).toEqual(['h', 'r']);
    for (const c of half) {
      expect(c.tolerance).toBe(FP16_CUT_TOLERANCE);
      expect(c.fp32MaxRelErr).toBeGreaterThan(FP32_TOLERANCE);
      expect(c.fp32MaxRelErr).toBeLessThan(FP16_CUT_TOLERANCE);
      expect(c.fp32Ok).toBe(true);
    }
    expect(report.ok).toBe(true);
  });
});

describe('several inputs and outputs through a ModelStore', () => {
  it('a head takes both inputs, the tail returns both outputs', async () => {
    const sessions = new SessionCache({ threads: 1 });
    const store = new ModelStore({ workDir: join(scratch, 'store'), sessions });
    try {
      const two = await store.add('two-inputs', join(fixtures, 'two-inputs.onnx'));
      expect(two.inputs.map((i) => i.name)).toEqual(['image', 'meta']);
      const feeds = {
        image: new ort.Tensor('float32', new Float32Array(3 * 32 * 32).fill(0.5), [1, 3, 32, 32]),
        meta: new ort.Tensor('float32', new Float32Array([1, 2, 3, 4]), [1, 4]),
      };
      const cut = two.cuts[1];
      const mid = await store.runAll('two-inputs', 'head', cut, feeds);
      expect(Object.keys(mid)).toEqual([cut]);
      const full = await store.runAll('two-inputs', 'tail', 'input', feeds);
      const split = await store.runAll('two-inputs', 'tail', cut, mid);
      expect([...(split.logits.data as Float32Array)]).toEqual([...(full.logits.data as Float32Array)]);

      const out = await store.add('two-outputs', join(fixtures, 'two-outputs.onnx'));
      const x = { input: feeds.image };
      const both = await store.runAll('two-outputs', 'tail', out.cuts[2], await store.runAll('two-outputs', 'head', out.cuts[2], x));
      expect(Object.keys(both)).toEqual(['logits', 'box']);
      expect(both.box.dims).toEqual([1, 4]);
    } finally {
      store.removeParts();
      await sessions.close();
    }
  });
});
