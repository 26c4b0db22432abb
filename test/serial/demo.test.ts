/**
 * The main job: `node bin/dynasplit.js demo --json` (what `npm start -- --json` runs) as a new user runs
 * it, with its defaults, in its own process: explore, build the front and policy, serve the same frames
 * under the policy and under static strategies. Checks the JSON shape of docs/demo.md and DynaSplit's
 * result on the demo's workload: less energy per inference (the median) than cloud-only and edge-only, and budgets
 * met within 2 points of the best static configuration's. Serial: its latencies are the host's.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const cache = mkdtempSync(join(tmpdir(), 'dynasplit-demo-'));
const REPORT_KEYS = ['requests', 'meanEnergyJ', 'medianEnergyJ', 'budgetMetRate', 'meanLatencyMs', 'p95LatencyMs', 'meanAccuracy', 'savingsVsCloudOnly', 'configurations'];
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the document is checked field by field below
let doc: any;
let stderr = '';

beforeAll(async () => {
  const run = await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'dynasplit.js'), 'demo', '--json'], {
    cwd: ROOT, env: { ...process.env, DYNASPLIT_CACHE_DIR: cache, DYNASPLIT_LOG_LEVEL: 'error' }, maxBuffer: 64 * 2 ** 20,
  });
  stderr = run.stderr;
  doc = JSON.parse(run.stdout);
}, 600_000);
afterAll(() => rmSync(cache, { recursive: true, force: true }));

it('prints the documented JSON: the exploration, its front as the policy, and every strategy as eval simulate shapes it', () => {
  expect(Object.keys(doc)).toEqual(['model', 'devices', 'workload', 'sources', 'exploration', 'strategies', 'served', 'elapsedS']);
  expect(doc).toMatchObject({ model: 'vgg16-64', devices: { edge: 'rpi4', cloud: 'gpu-server' }, workload: { requests: 50, budgets: 'uniform:300:900', seed: 1 } });
  expect(doc.sources).toEqual({ latency: 'emulated', energy: 'modelled', accuracy: 'measured', budgetsMet: 'emulated' });
  expect(doc.exploration.configurations).toBe(21);
  expect(doc.exploration.runs).toBe(42);
  expect(doc.exploration.front.length).toBeGreaterThan(0);
  expect(doc.exploration.policy).toEqual({ rule: 'energy-first', entries: doc.exploration.front.length });
  expect(Object.keys(doc.strategies)).toEqual(['cloud-only', 'edge-only', 'static-min-energy', 'dynasplit']);
  for (const [name, report] of Object.entries(doc.strategies)) {
    expect(Object.keys(report as object), name).toEqual(REPORT_KEYS);
    expect((report as { requests: number }).requests + Object.values(doc.served[name].failures as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(50);
  }
  // The policy strategy's frames carried no configuration: the edge decided each one with the front.
  expect(doc.served.dynasplit.run).toBe('policy');
  const front = new Set(doc.exploration.front.map((f: { configuration: string }) => f.configuration));
  for (const name of Object.keys(doc.strategies.dynasplit.configurations)) expect(front.has(name) || doc.served.dynasplit.fallbacks > 0, name).toBe(true);
  expect(doc.served['cloud-only'].configuration).toMatch(/^cloud-only\//);
  expect(doc.served['edge-only'].configuration).toMatch(/^edge-only/);
  expect(stderr).toContain('emulating rpi4');
});

// Energy per inference compared by the median: a stall of the host's scheduler charges one frame the
// edge's idle power for hundreds of ms, which moves a 50-frame mean by tens of mJ (docs/demo.md, "A busy host").
it('spends less energy per inference than cloud-only and edge-only, and meets budgets within 2 points of the best static configuration', () => {
  const s = doc.strategies;
  const seen = JSON.stringify({ strategies: s, served: doc.served, front: doc.exploration.front });
  expect(s.dynasplit.medianEnergyJ, seen).toBeLessThan(s['cloud-only'].medianEnergyJ);
  expect(s.dynasplit.medianEnergyJ, seen).toBeLessThan(s['edge-only'].medianEnergyJ);
  expect(s.dynasplit.budgetMetRate, seen).toBeGreaterThanOrEqual(s['static-min-energy'].budgetMetRate - 0.02);
});
