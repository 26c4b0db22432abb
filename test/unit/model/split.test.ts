import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { isDynasplitError } from '../../../common/index.ts';
import { inspectModel, loadModelFile, splitModel, splitModelFile, verifyModel } from '../../../model/index.ts';

const zoo = inject('zooDir');
const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-split-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('splitModelFile', () => {
  it('writes head and tail that share the weights file without copying it', () => {
    const out = join(scratch, 'share');
    const files = splitModelFile(join(zoo, 'vgg16-tiny.onnx'), 'features.pool3', out);
    const original = statSync(join(zoo, 'vgg16-tiny.weights'));
    const linked = statSync(files.weights[0]);
    expect(linked.ino).toBe(original.ino);
    expect(statSync(files.headPath!).size + statSync(files.tailPath!).size).toBeLessThan(64 * 1024);
    const head = loadModelFile(files.headPath!).model.graph;
    const tail = loadModelFile(files.tailPath!).model.graph;
    expect(head.output.map((o) => o.name)).toEqual(['features.pool3']);
    expect(tail.input.map((i) => i.name)).toEqual(['features.pool3']);
    expect(tail.input[0].type?.tensor_type?.shape?.dim.map((d) => d.dim_param || d.dim_value)).toEqual(['N', 32, 4, 4]);
    const names = (g: typeof head) => new Set(g.initializer.map((t) => t.name));
    expect([...names(head)].filter((n) => names(tail).has(n))).toEqual([]);
  });

  it('input and output are the cloud-only and edge-only cuts', () => {
    const model = loadModelFile(join(zoo, 'vgg16-tiny.onnx')).model;
    const cloudOnly = splitModel(model, 'input');
    expect([cloudOnly.head, cloudOnly.tail]).toEqual([undefined, model]);
    const edgeOnly = splitModel(model, 'output');
    expect([edgeOnly.head, edgeOnly.tail]).toEqual([model, undefined]);
    const files = splitModelFile(join(zoo, 'vgg16-tiny.onnx'), 'input', join(scratch, 'input'));
    expect(files.headPath).toBeUndefined();
    expect(readFileSync(files.tailPath!).length).toBeGreaterThan(0);
  });

  it('names the model and the valid cuts when the cut is unknown', () => {
    try {
      splitModelFile(join(zoo, 'vit-tiny.onnx'), 'block0.attn_softmax', join(scratch, 'bad'));
      expect.unreachable();
    } catch (err) {
      expect(isDynasplitError(err, 'DYNASPLIT_ERR_UNKNOWN_CUT')).toBe(true);
      expect((err as Error).message).toMatch(/vit-tiny\.onnx: 'block0\.attn_softmax' is not a single-tensor cut point; valid cuts: input, .*block0\.residual/);
    }
  });
});

describe('verifyModel: tail(head(x)) equals full(x) at every cut', () => {
  for (const name of ['vgg16-tiny', 'vit-tiny']) {
    it(name, async () => {
      const report = await verifyModel(join(zoo, `${name}.onnx`), { inputs: 3, threads: 1 });
      const cutCount = (await inspectModel(join(zoo, `${name}.onnx`))).cutPoints.length;
      expect(report.cuts).toHaveLength(cutCount + 1);
      expect(report.ok).toBe(true);
      for (const cut of report.cuts) {
        expect(cut.fp32MaxAbsDiff).toBeLessThanOrEqual(1e-5);
        const byCodec = Object.fromEntries(cut.codecs.map((c) => [c.codec, c]));
        expect(byCodec.fp32).toMatchObject({ top1Agreement: 1, maxAbs: 0, relL2: 0 });
        expect(byCodec.fp16.relL2).toBeLessThan(1e-3);
        expect(byCodec.int8.relL2).toBeLessThan(0.05);
        // a quantized wire tensor is about a quarter of the float32 one (once data outweighs the header)
        if (byCodec.fp32.wireBytes > 1024) expect(byCodec.int8.wireBytes).toBeLessThan(byCodec.fp32.wireBytes / 3);
      }
    });
  }
});
