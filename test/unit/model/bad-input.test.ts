import { copyFileSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { DynasplitError } from '../../../common/index.ts';
import { generateModel, inspectModel, loadModelFile, openSession, splitModelFile } from '../../../model/index.ts';
import { writeModelFile } from '../../../model/onnx/index.ts';
import { floatValue, model, node } from '../../helpers/onnx.ts';

const zoo = inject('zooDir');
const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-bad-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function codeOf(fn: () => unknown): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof DynasplitError) return { code: err.code, message: err.message, details: err.details };
    throw err;
  }
  throw new Error('expected a DynasplitError');
}

/** A copy of vgg16-tiny in its own directory, to damage. */
async function copyOfTiny(name: string): Promise<string> {
  const dir = join(scratch, name);
  await generateModel('vgg16-tiny', dir);
  return dir;
}

describe('bad models and inputs get coded errors that name the file, cut or tensor', () => {
  it('missing file', async () => {
    const e = await codeOf(() => inspectModel(join(scratch, 'nope.onnx')));
    expect(e.code).toBe('DYNASPLIT_ERR_FILE_NOT_FOUND');
    expect(e.message).toContain('nope.onnx');
  });

  it('corrupt file', async () => {
    const path = join(scratch, 'corrupt.onnx');
    writeFileSync(path, Buffer.from('this is not protobuf \xff\xff\xff\xff\xff'));
    const e = await codeOf(() => loadModelFile(path));
    expect(e).toMatchObject({ code: 'DYNASPLIT_ERR_BAD_MODEL', details: { file: path } });
  });

  it('a truncated model file', async () => {
    const dir = await copyOfTiny('truncated-model');
    truncateSync(join(dir, 'vgg16-tiny.onnx'), 100);
    const e = await codeOf(() => splitModelFile(join(dir, 'vgg16-tiny.onnx'), 'features.pool1', join(dir, 'out')));
    expect(e.code).toBe('DYNASPLIT_ERR_BAD_MODEL');
    expect(e.message).toContain('vgg16-tiny.onnx');
  });

  it('missing external-data file', async () => {
    const dir = await copyOfTiny('no-weights');
    rmSync(join(dir, 'vgg16-tiny.weights'));
    const e = await codeOf(() => inspectModel(join(dir, 'vgg16-tiny.onnx')));
    expect(e.code).toBe('DYNASPLIT_ERR_EXTERNAL_DATA');
    expect(e.message).toMatch(/external data file 'vgg16-tiny\.weights' of initializer '.+' is missing/);
  });

  it('external-data file too short', async () => {
    const dir = await copyOfTiny('short-weights');
    truncateSync(join(dir, 'vgg16-tiny.weights'), 4096);
    const e = await codeOf(() => loadModelFile(join(dir, 'vgg16-tiny.onnx')));
    expect(e.code).toBe('DYNASPLIT_ERR_EXTERNAL_DATA');
    expect(e.details.tensor).toBeTypeOf('string');
  });

  it('external data pointing outside the model directory', async () => {
    const file = loadModelFile(join(zoo, 'vgg16-tiny.onnx'));
    const graph = { ...file.model.graph, initializer: file.model.graph.initializer.map((t) => ({
      ...t, external_data: t.external_data?.map((e) => (e.key === 'location' ? { ...e, value: '../../etc/passwd' } : e)),
    })) };
    const path = join(scratch, 'escape.onnx');
    writeModelFile(path, { ...file.model, graph });
    const e = await codeOf(() => loadModelFile(path));
    expect(e.code).toBe('DYNASPLIT_ERR_EXTERNAL_DATA');
    expect(e.message).toContain('outside the model');
  });

  it('control flow is refused with the node named', async () => {
    const path = join(scratch, 'loop.onnx');
    writeModelFile(path, model([
      node('ReduceSum', ['x'], ['s']),
      node('Loop', ['', 's'], ['y'], [{ name: 'body', type: 5, g: new Uint8Array([1]) }]),
    ]));
    const e = await codeOf(() => inspectModel(path));
    expect(e.code).toBe('DYNASPLIT_ERR_UNSUPPORTED_MODEL');
    expect(e.message).toMatch(/loop\.onnx: node 'y' is a Loop/);
  });

  it('unknown cut', async () => {
    const e = await codeOf(() => splitModelFile(join(zoo, 'vgg16-tiny.onnx'), 'no.such.tensor', join(scratch, 'x')));
    expect(e).toMatchObject({ code: 'DYNASPLIT_ERR_UNKNOWN_CUT', details: { cut: 'no.such.tensor' } });
  });

  it('wrong input shape and dtype are named before inference', async () => {
    const session = await openSession(join(zoo, 'vgg16-tiny.onnx'), { threads: 1 });
    try {
      const shape = await codeOf(() => session.run({ input: new ort.Tensor('float32', new Float32Array(3 * 16 * 16), [1, 3, 16, 16]) }));
      expect(shape).toMatchObject({ code: 'DYNASPLIT_ERR_BAD_INPUT', details: { tensor: 'input' } });
      expect(shape.message).toContain('must have shape [N, 3, 32, 32], got [1, 3, 16, 16]');
      const dtype = await codeOf(() => session.run({ input: new ort.Tensor('int32', new Int32Array(3 * 32 * 32), [1, 3, 32, 32]) }));
      expect(dtype.message).toContain("input 'input' must be float32, got int32");
      const extra = await codeOf(() => session.run({ input: new ort.Tensor('float32', new Float32Array(3 * 32 * 32), [1, 3, 32, 32]), other: new ort.Tensor('float32', [1], [1]) }));
      expect(extra.message).toContain("no input named 'other'");
    } finally {
      await session.release();
    }
  });

  it('a model onnxruntime cannot load is a coded error', async () => {
    const path = join(scratch, 'unknown-op.onnx');
    writeModelFile(path, model([node('NoSuchOperator', ['x'], ['y'])], { outputs: [floatValue('y', ['N', 4])] }));
    const e = await codeOf(() => openSession(path));
    expect(e.code).toBe('DYNASPLIT_ERR_BAD_MODEL');
    expect(e.message).toContain('unknown-op.onnx');
  });

  it('splitting a copy in another directory still finds its weights', async () => {
    const dir = join(scratch, 'copy');
    await generateModel('vgg16-tiny', dir);
    copyFileSync(join(dir, 'vgg16-tiny.onnx'), join(dir, 'renamed.onnx'));
    const files = splitModelFile(join(dir, 'renamed.onnx'), 'features.pool5', join(scratch, 'copy-out'));
    const head = await openSession(files.headPath!, { threads: 1 });
    await head.release();
  });
});
