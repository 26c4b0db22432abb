import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { inspectModel, loadModelFile, zooParamCount } from '../../../model/index.ts';
import { linkExternalData, writeModelFile } from '../../../model/onnx/index.ts';

const zoo = inject('zooDir');
const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-inspect-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('inspectModel', () => {
  it('vgg16-tiny: parameters, 36 cut points with sizes, and costs that add up on both sides', async () => {
    const r = await inspectModel(join(zoo, 'vgg16-tiny.onnx'));
    expect(r.params).toBe(zooParamCount('vgg16-tiny'));
    expect(r.shapes).toBe('declared');
    expect(r.cutPoints).toHaveLength(36);
    const first = r.cutPoints[0];
    expect(first).toMatchObject({ shape: [1, 8, 32, 32], dtype: 'float32', bytesPerSample: 8 * 32 * 32 * 4 });
    // conv3x3 3->8 over 32x32: 2 FLOPs per multiply-add plus the bias add
    expect(first.flopsBefore).toBe(2 * 8 * 32 * 32 * 3 * 9 + 8 * 32 * 32);
    for (const c of r.cutPoints) {
      expect(c.flopsBefore + c.flopsAfter).toBe(r.flops);
      expect(c.paramBytesBefore + c.paramBytesAfter).toBe(r.paramBytes);
    }
    const before = r.cutPoints.map((c) => c.flopsBefore);
    expect(before).toEqual([...before].sort((a, b) => a - b));
    expect(r.input).toMatchObject({ name: 'input', shape: [1, 3, 32, 32], flopsBefore: 0, flopsAfter: r.flops });
    expect(r.output).toMatchObject({ name: 'output', shape: [1, 10], flopsAfter: 0, paramBytesAfter: 0 });
  });

  it('vit-tiny: rank-0 op constants are not parameters', async () => {
    const r = await inspectModel(join(zoo, 'vit-tiny.onnx'));
    expect(r.params).toBe(zooParamCount('vit-tiny'));
    expect(r.cutPoints.find((c) => c.name === 'block0.out')).toMatchObject({ shape: [1, 65, 64], bytesPerSample: 65 * 64 * 4 });
  });

  it('measures the shapes a model does not declare by running it once, with the same result', async () => {
    const file = loadModelFile(join(zoo, 'vit-tiny.onnx'));
    const bare = { ...file.model, graph: { ...file.model.graph, value_info: [] } };
    linkExternalData(file.model, file.dir, scratch);
    const path = join(scratch, 'bare.onnx');
    writeModelFile(path, bare);
    const declared = await inspectModel(join(zoo, 'vit-tiny.onnx'));
    const probed = await inspectModel(path);
    expect(probed.shapes).toBe('probed');
    expect(probed.cutPoints.map((c) => [c.name, c.shape, c.flopsBefore])).toEqual(declared.cutPoints.map((c) => [c.name, c.shape, c.flopsBefore]));
  });

  it('takes symbolic dims from the caller', async () => {
    const r = await inspectModel(join(zoo, 'vgg16-tiny.onnx'), { dims: { N: 4 } });
    expect(r.cutPoints[0].shape).toEqual([4, 8, 32, 32]);
  });
});
