import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDynasplitError, ErrorCodes } from '../../../common/index.ts';
import { decodeModel, externalRef } from '../../../model/onnx/index.ts';
import { generateModel, isZooModel, zooParamCount, ZOO_MODELS, type GeneratedModel } from '../../../model/zoo/index.ts';

const TINY = ['vgg16-tiny', 'vit-tiny'] as const;
/** Bytes; the zoo aligns every external tensor to a page. */
const WEIGHT_ALIGNMENT = 4096;

/** Seeded pixels in [0, 1) (mulberry32), like torchvision's ToTensor() output. */
function randomPixels(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }
  return out;
}
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dynasplit-zoo-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('zoo architecture descriptions', () => {
  it('have the parameter counts of the real networks', () => {
    expect(zooParamCount('vgg16')).toBe(138_357_544);
    expect(zooParamCount('vit-b16')).toBe(86_567_656);
    expect(zooParamCount('vgg16-64')).toBe(16_129_032);
    expect(zooParamCount('vgg16-tiny')).toBe(256_690);
    expect(zooParamCount('vit-tiny')).toBe(142_026);
  });

  it('knows its model names', () => {
    expect(ZOO_MODELS).toEqual(['vgg16', 'vgg16-64', 'vgg16-tiny', 'vit-b16', 'vit-tiny']);
    expect(isZooModel('vit-tiny')).toBe(true);
    expect(isZooModel('resnet50')).toBe(false);
  });

  it('rejects an unknown name with a coded error listing the valid ones', async () => {
    const err = await generateModel('resnet50', dir).catch((e: unknown) => e);
    expect(isDynasplitError(err, ErrorCodes.UNKNOWN_MODEL)).toBe(true);
    expect((err as Error).message).toContain('vgg16, vgg16-64, vgg16-tiny, vit-b16, vit-tiny');
  });
});

describe.each(TINY)('generated %s', (name) => {
  let generated: GeneratedModel;
  let session: ort.InferenceSession;

  beforeAll(async () => {
    const progress: number[] = [];
    generated = await generateModel(name, join(dir, 'a', 'b'), { seed: 7, onProgress: (done) => progress.push(done) });
    expect(progress.at(-1)).toBe(generated.params);
    // From the path, so ORT resolves the external data next to the model.
    session = await ort.InferenceSession.create(generated.modelPath);
  });
  afterAll(async () => {
    await session?.release();
  });

  it('is byte-identical when generated again with the same seed, different with another', async () => {
    const again = await generateModel(name, join(dir, 'again'), { seed: 7 });
    const other = await generateModel(name, join(dir, 'other'), { seed: 8 });
    // Buffer.equals: vitest's deep toEqual walks a megabyte byte by byte for seconds.
    const same = async (a: string, b: string) => (await readFile(a)).equals(await readFile(b));
    expect(await same(again.modelPath, generated.modelPath)).toBe(true);
    expect(await same(again.weightsPath, generated.weightsPath)).toBe(true);
    expect(await same(other.weightsPath, generated.weightsPath)).toBe(false);
  });

  it('is an opset-17 model with external, aligned weights and value_info for every intermediate tensor', async () => {
    const model = decodeModel(await readFile(generated.modelPath));
    expect(model.ir_version).toBe(8);
    expect(model.opset_import).toEqual([{ domain: '', version: 17 }]);
    expect(model.producer_name).toBe('dynasplit');
    const { graph } = model;
    expect(graph.input.map((v) => v.name)).toEqual(['input']);
    expect(graph.input[0].type?.tensor_type?.shape?.dim).toEqual([{ dim_param: 'N' }, { dim_value: 3 }, { dim_value: 32 }, { dim_value: 32 }]);
    expect(graph.output[0].type?.tensor_type?.shape?.dim).toEqual([{ dim_param: 'N' }, { dim_value: 10 }]);
    const intermediates = graph.node.flatMap((n) => n.output).filter((t) => t !== 'logits');
    expect(graph.value_info.map((v) => v.name).sort()).toEqual([...intermediates].sort());
    for (const v of graph.value_info) expect(v.type?.tensor_type?.elem_type).toBe(1);
    let externalParams = 0;
    for (const tensor of graph.initializer) {
      const ref = externalRef(tensor);
      if (tensor.data_type === 7 || tensor.dims.length === 0) {
        expect(ref).toBeUndefined();
        continue;
      }
      expect(ref?.location).toBe(`${name}.weights`);
      expect(ref!.offset % WEIGHT_ALIGNMENT).toBe(0);
      externalParams += tensor.dims.reduce((a, b) => a * b, 1);
    }
    expect(externalParams).toBe(generated.params);
    if (name === 'vgg16-tiny') expect(intermediates).toHaveLength(36);
  });

  it('runs in onnxruntime with a symbolic batch', async () => {
    const data = Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i));
    const out = await session.run({ input: new ort.Tensor('float32', data, [2, 3, 32, 32]) });
    expect(out.logits.dims).toEqual([2, 10]);
    expect([...(out.logits.data as Float32Array)].every(Number.isFinite)).toBe(true);
  });

  it('gives different top-1 classes for different inputs, with bounded logits', async () => {
    const samples = 32;
    const perSample = 3 * 32 * 32;
    const data = randomPixels(samples * perSample, 123);
    const out = await session.run({ input: new ort.Tensor('float32', data, [samples, 3, 32, 32]) });
    const logits = out.logits.data as Float32Array;
    const top1 = new Set<number>();
    let maxAbs = 0;
    for (let s = 0; s < samples; s++) {
      const row = logits.subarray(s * 10, s * 10 + 10);
      top1.add(row.indexOf(Math.max(...row)));
      for (const v of row) maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    expect(top1.size).toBeGreaterThanOrEqual(3);
    expect(maxAbs).toBeLessThan(1e3);
    expect(maxAbs).toBeGreaterThan(1e-3);
  });
});
