/** The main job (`npm start` = `dynasplit demo`): the whole embedded pipeline, summary as JSON. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { main } from '../../cli/index.ts';

const cache = mkdtempSync(join(tmpdir(), 'dynasplit-demo-'));
const saved = process.env.DYNASPLIT_CACHE_DIR;
process.env.DYNASPLIT_CACHE_DIR = cache;
afterAll(() => {
  if (saved === undefined) delete process.env.DYNASPLIT_CACHE_DIR;
  else process.env.DYNASPLIT_CACHE_DIR = saved;
  rmSync(cache, { recursive: true, force: true });
});

it('runs broker, cloud worker, edge node and sensor in one process and prints the summary as JSON', async () => {
  let out = '';
  let err = '';
  const code = await main(['demo', '--count', '30', '--rate', '50', '--budgets', 'fixed:2000', '--json', '--log-level', 'silent'], {
    stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, isTTY: false,
  });
  expect(code, err).toBe(0);
  const summary = JSON.parse(out);
  expect(Object.keys(summary)).toEqual(expect.arrayContaining(['requests', 'results', 'errors', 'budgetMetRate', 'latencyMs', 'configurations']));
  expect(summary).toMatchObject({ requests: 30, results: 30, errors: 0, unanswered: 0 });
  expect(Object.keys(summary.latencyMs)).toEqual(expect.arrayContaining(['p50', 'p95', 'p99']));
  expect(Object.keys(summary.configurations).sort()).toEqual(['cloud-only/fp32', 'edge-only', 'split@features.pool2/fp16']);
  expect(summary.energy.source).toBe('modelled');
  expect(summary.computeSource).toBe('emulated');
  expect(err).toContain('emulated rpi4');
});
