import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { main } from '../../../cli/index.ts';
import { inspectModel, loadModelFile, verifyModel } from '../../../model/index.ts';
import { externalRef, writeModelFile } from '../../../model/onnx/index.ts';
import { floatValue, model, node } from '../../helpers/onnx.ts';

const zoo = inject('zooDir');
const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-verify-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('verify can fail, and inline weights work like external ones', () => {
  it('a split that does not reproduce the full model makes verify report it and exit 1', async () => {
    // RandomUniformLike draws new numbers on every run, so a tail re-running it cannot match the full model.
    const path = join(scratch, 'random.onnx');
    writeModelFile(path, model([
      node('Relu', ['x'], ['a']),
      node('RandomUniformLike', ['a'], ['r']),
      node('Add', ['a', 'r'], ['y']),
    ], { inputs: [floatValue('x', [1, 4])], outputs: [floatValue('y', [1, 4])] }));
    const report = await verifyModel(path, { inputs: 2, codecs: ['fp32'] });
    expect(report.ok).toBe(false);
    expect(report.cuts.find((c) => c.cut === 'a')?.fp32Ok).toBe(false);
    let out = '';
    const code = await main(['model', 'verify', path, '--inputs', '2', '--json'], { stdout: (t) => { out += t; }, stderr: () => undefined, isTTY: false });
    expect(code).toBe(1);
    expect(JSON.parse(out).ok).toBe(false);
  });

  it('a model with its weights inline inspects like the same model with external data', async () => {
    const file = loadModelFile(join(zoo, 'vgg16-tiny.onnx'));
    const weights = readFileSync(join(zoo, 'vgg16-tiny.weights'));
    const inline = file.model.graph.initializer.map((t) => {
      const ref = externalRef(t);
      if (!ref) return t;
      return { name: t.name, dims: t.dims, data_type: t.data_type, raw_data: weights.subarray(ref.offset, ref.offset + ref.length!) };
    });
    const path = join(scratch, 'inline.onnx');
    writeModelFile(path, { ...file.model, graph: { ...file.model.graph, initializer: inline } });
    const [a, b] = await Promise.all([inspectModel(path), inspectModel(join(zoo, 'vgg16-tiny.onnx'))]);
    expect(a.params).toBe(b.params);
    expect(a.cutPoints).toEqual(b.cutPoints);
    const report = await verifyModel(path, { inputs: 1, codecs: ['fp32'] });
    expect(report.ok).toBe(true);
  });
});
