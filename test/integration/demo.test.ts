/**
 * `dynasplit demo` (`npm start`) refuses a bad flag before it starts anything: one line, the error's
 * code, exit 2 (bad arguments) or 1, and no model generated, no broker started (nothing else printed).
 * The live run and its claims are in test/serial/demo.test.ts.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { main } from '../../cli/index.ts';

const cache = mkdtempSync(join(tmpdir(), 'dynasplit-demo-flags-'));
const saved = process.env.DYNASPLIT_CACHE_DIR;
process.env.DYNASPLIT_CACHE_DIR = cache;
afterAll(() => {
  if (saved === undefined) delete process.env.DYNASPLIT_CACHE_DIR;
  else process.env.DYNASPLIT_CACHE_DIR = saved;
  rmSync(cache, { recursive: true, force: true });
});

async function demo(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['demo', ...argv], { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, isTTY: false });
  return { code, out, err };
}

it.each([
  [['--count', '0'], 2, 'DYNASPLIT_ERR_BAD_ARGS', '--count'],
  [['--repetitions', 'x'], 2, 'DYNASPLIT_ERR_BAD_ARGS', '--repetitions'],
  [['--budgets', 'weibull'], 2, 'DYNASPLIT_ERR_BAD_ARGS', 'weibull'],
  [['--budgets', '/no/such/budgets.txt'], 1, 'DYNASPLIT_ERR_FILE_NOT_FOUND', '/no/such/budgets.txt'],
  [['--edge-profile', 'rpi5'], 2, 'DYNASPLIT_ERR_BAD_ARGS', 'rpi4'],
  [['--cloud-profile', '/no/such/profile.json'], 1, 'DYNASPLIT_ERR_FILE_NOT_FOUND', '/no/such/profile.json'],
  [['--model', 'vgg61-64'], 1, 'DYNASPLIT_ERR_UNKNOWN_MODEL', 'vgg16-64, vgg16-tiny'],
  [['--model', '/no/such/model.onnx'], 1, 'DYNASPLIT_ERR_FILE_NOT_FOUND', '/no/such/model.onnx'],
  [['--model', 'mine=/no/such/model.onnx'], 1, 'DYNASPLIT_ERR_FILE_NOT_FOUND', '/no/such/model.onnx'],
  [['--model', '=x.onnx'], 2, 'DYNASPLIT_ERR_BAD_ARGS', 'NAME=FILE'],
  [['--log-level', 'loud'], 2, 'DYNASPLIT_ERR_BAD_ARGS', 'loud'],
  [['--seed=-1'], 2, 'DYNASPLIT_ERR_BAD_ARGS', '--seed'],
])('refuses %j before starting anything', async (argv, exit, code, named) => {
  const { code: status, out, err } = await demo(...argv);
  expect(status, err).toBe(exit);
  expect(out).toBe('');
  const lines = err.trimEnd().split('\n');
  expect(lines, err).toHaveLength(1);
  expect(lines[0]).toContain(code);
  expect(lines[0]).toContain(named);
  // Nothing was generated into the model cache.
  expect(readdirSync(cache)).toEqual([]);
});
