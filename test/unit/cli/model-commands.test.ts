import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import type { Io } from '../../../cli/command.ts';
import { DataType, writeModelFile } from '../../../model/onnx/index.ts';
import { floatValue, model, node } from '../../helpers/onnx.ts';

const zoo = inject('zooDir');
const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-cli-'));
let savedCache: string | undefined;
beforeAll(() => {
  savedCache = process.env.DYNASPLIT_CACHE_DIR;
  process.env.DYNASPLIT_CACHE_DIR = join(scratch, 'cache');
});
afterAll(() => {
  if (savedCache === undefined) delete process.env.DYNASPLIT_CACHE_DIR;
  else process.env.DYNASPLIT_CACHE_DIR = savedCache;
  rmSync(scratch, { recursive: true, force: true });
});

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, isTTY: false };
  const code = await main(argv, io);
  return { code, out, err };
}

describe('dynasplit model', () => {
  it('--help works on every subcommand and lists the commands at the top', async () => {
    const top = await run('--help');
    expect(top.code).toBe(0);
    for (const sub of ['gen', 'inspect', 'split', 'verify']) {
      expect(top.out).toContain(`model ${sub}`);
      const help = await run('model', sub, '--help');
      expect(help.code).toBe(0);
      expect(help.out).toMatch(new RegExp(`^usage: dynasplit model ${sub} `));
    }
    expect((await run('model')).out).toContain('model toolkit');
  });

  it('bad arguments exit 2 with a coded error and the usage', async () => {
    const unknown = await run('model', 'frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('DYNASPLIT_ERR_BAD_ARGS');
    const flag = await run('model', 'inspect', 'x.onnx', '--no-such-flag');
    expect(flag.code).toBe(2);
    expect(flag.err).toMatch(/usage: dynasplit model inspect FILE\|NAME/);
    const missing = await run('model', 'split', join(zoo, 'vgg16-tiny.onnx'));
    expect(missing.err).toContain('missing --at CUT');
  });

  it('inspect --json prints the cut points as data', async () => {
    const r = await run('model', 'inspect', join(zoo, 'vgg16-tiny.onnx'), '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out);
    expect(json.params).toBe(256_690);
    expect(json.cutPoints).toHaveLength(36);
    expect(Object.keys(json.cutPoints[0]).sort()).toEqual(
      ['bytesPerSample', 'dtype', 'flopsAfter', 'flopsBefore', 'name', 'paramBytesAfter', 'paramBytesBefore', 'shape', 'tensors'].sort());
  });

  it('errors come out as JSON too when --json is given', async () => {
    const r = await run('model', 'inspect', join(scratch, 'missing.onnx'), '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).error.code).toBe('DYNASPLIT_ERR_FILE_NOT_FOUND');
  });

  it('gen, split and verify by zoo name (generated once into the cache)', async () => {
    const gen = await run('model', 'gen', 'vit-tiny', '--out', join(scratch, 'gen'), '--json');
    expect(JSON.parse(gen.out).params).toBe(142_026);
    const split = await run('model', 'split', join(scratch, 'gen', 'vit-tiny.onnx'), '--at', 'block1.out', '--out', join(scratch, 'parts'));
    expect(split.code).toBe(0);
    expect(existsSync(join(scratch, 'parts', 'head.onnx')) && existsSync(join(scratch, 'parts', 'tail.onnx'))).toBe(true);
    // A cut the model lacks is refused, with the valid ones, before the output directory is made.
    const unknown = await run('model', 'split', join(scratch, 'gen', 'vit-tiny.onnx'), '--at', 'nope', '--out', join(scratch, 'never'));
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/DYNASPLIT_ERR_UNKNOWN_CUT: .*'nope' is not a single-tensor cut point; valid cuts: input, .*block1\.out.*, output/);
    expect(existsSync(join(scratch, 'never'))).toBe(false);
    const verify = await run('model', 'verify', 'vit-tiny', '--inputs', '2', '--threads', '1');
    expect(verify.code).toBe(0);
    expect(verify.out).toContain('all splits agree with the full model');
    expect(verify.err).toContain('verifying cuts');
    expect(existsSync(join(scratch, 'cache', 'vit-tiny-seed0', 'vit-tiny.onnx'))).toBe(true);
  });
});

describe('dynasplit model on an exported model with dynamic height and width', () => {
  const fixtures = join(import.meta.dirname, '../../fixtures/models');

  it('takes the dims from the card beside the model, --dim over them, and refuses an open one by name', async () => {
    const inspect = await run('model', 'inspect', join(fixtures, 'fcn-dynamic-hw.onnx'));
    expect(inspect.code).toBe(0);
    expect(inspect.out).toContain('mask float32[1,5,6,10]');
    expect(inspect.out).toContain('batch dim batch taken as 1');
    expect(inspect.out).toContain('fcn-dynamic-hw.card.json');
    const bigger = await run('model', 'inspect', join(fixtures, 'fcn-dynamic-hw.onnx'), '--dim', 'height=48', '--json');
    expect(JSON.parse(bigger.out).outputs[0].shape).toEqual([1, 5, 12, 10]);
    const verify = await run('model', 'verify', join(fixtures, 'fcn-dynamic-hw.onnx'), '--dim', 'width=16', '--inputs', '1', '--threads', '1', '--json');
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.out).dims).toMatchObject({ height: 24, width: 16 });
    const open = await run('model', 'split', join(fixtures, 'fcn-dynamic-hw.onnx'), '--card', join(fixtures, 'two-outputs.card.json'),
      '--dim', 'height=24', '--at', 'output', '--out', join(scratch, 'fcn'));
    expect(open.code).toBe(1);
    expect(open.err).toContain('DYNASPLIT_ERR_UNRESOLVED_DIM');
    expect(open.err).toContain("'width'");
  });
});

describe('the dynasplit bin', () => {
  it('runs through node with no build step', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(import.meta.dirname, '../../../bin/dynasplit.js'), 'model', 'inspect', join(zoo, 'vit-tiny.onnx'), '--json']);
    expect(JSON.parse(stdout).cutPoints.length).toBeGreaterThan(8);
  });

  it('inspect of a model that outputs its class index: the image input read right, and the card told to name the scores', async () => {
    const path = join(scratch, 'index-first.onnx');
    writeModelFile(path, model([
      node('ReduceMean', ['x'], ['logits'], [{ name: 'axes', type: 7, ints: [2, 3] }, { name: 'keepdims', type: 2, i: 0 }]),
      node('ArgMax', ['logits'], ['cls'], [{ name: 'axis', type: 2, i: 1 }, { name: 'keepdims', type: 2, i: 0 }]),
    ], {
      inputs: [floatValue('x', [1, 3, 8, 8])],
      outputs: [{ name: 'cls', type: { tensor_type: { elem_type: DataType.INT64, shape: { dim: [{ dim_value: 1 }] } } } }, floatValue('logits', [1, 3])],
    }));
    const { code, out } = await run('model', 'inspect', path);
    expect(code).toBe(0);
    expect(out).toMatch(/input: resize to cover the crop \(bilinear\), crop model size, NCHW RGB/);
    expect(out).toMatch(/the default card does not fit this model: .*output 'cls' is int64; use "raw", or name its scores: "output": \{ "tensor": "logits" \}/);
  });
});

