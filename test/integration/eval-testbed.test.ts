/**
 * `dynasplit eval testbed` end to end on vgg16-tiny: the embedded pipeline (aedes, a cloud worker
 * emulating a GPU server, an edge node emulating a Raspberry Pi 4) profiles a small space, runs every
 * strategy live, and computes the oracle over the pool. Checks what each strategy ran and why, and
 * that the files' figures agree with their records.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { silentLogger } from '../../common/index.ts';
import { main } from '../../cli/index.ts';
import { budgetSequence, createStrategy, poolTable, simulate, STRATEGY_NAMES, type DrawContext, type StrategyName } from '../../eval/index.ts';
import { runTestbed, type ModelOutcome, type TestbedOptions } from '../../eval/testbed/index.ts';
import { EmbeddedMetricsStore, type RequestMetric } from '../../metrics/index.ts';
import { aggregatePool, frontToPolicy, paretoFront, readPool, type PoolRow } from '../../pareto/index.ts';

const MODEL = 'vgg16-tiny';
const modelFile = () => join(inject('zooDir'), `${MODEL}.onnx`);
const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-testbed-'));
const quiet = { stdout: () => undefined, stderr: () => undefined, isTTY: false };
/** The edge's Coral and the CPU, two codecs, one cloud mode, one cut point besides input and output. */
const SPACE = 'cuts=1;accelerators=none,coral-usb:max;codecs=fp32,int8;cloud=gpu';
/**
 * Budgets every configuration of the tiny model meets, so no request runs out of budget before it reaches the
 * edge or the cloud worker: at least 100 ms, since on a busy two-core host a frame can wait tens of ms for the
 * broker or a node to be scheduled (with a 20 ms floor, a first request of 20.6 ms expired there now and then).
 */
const BUDGETS = 'uniform:100:400';

/** A real embedded store that also keeps what the edge node wrote. */
class KeptStore extends EmbeddedMetricsStore {
  readonly kept: RequestMetric[] = [];
  override writeRequest(m: RequestMetric): void {
    this.kept.push(m);
    super.writeRequest(m);
  }
}

const store = new KeptStore();
let outcome: ModelOutcome;
let pool: PoolRow[];
let results: ReturnType<typeof JSON.parse>;

beforeAll(async () => {
  const options: TestbedOptions = {
    models: { [MODEL]: modelFile() }, requests: 6, budgets: BUDGETS, budgetsLabel: BUDGETS, seed: 3, outDir: join(scratch, 'out'),
    edgeProfile: 'rpi4', cloudProfile: 'gpu-server', repetitions: 2, warmup: 1, space: SPACE, strategies: [...STRATEGY_NAMES], timeoutMs: 30_000,
  };
  [outcome] = await runTestbed(options, { logger: silentLogger(), metrics: store, io: quiet });
  pool = readPool(readFileSync(outcome.pool, 'utf8'));
  results = JSON.parse(readFileSync(outcome.results, 'utf8'));
  // The edge writes a sampled request's metrics after its agreement check, which may end after the run.
  const expected = pool.length + 3 + Object.values(results.records).reduce((s: number, r) => s + (r as unknown[]).length, 0) - results.records.oracle.length;
  await vi.waitFor(() => expect(store.kept.length).toBeGreaterThanOrEqual(expected), { timeout: 5_000, interval: 20 });
}, 120_000);

afterAll(async () => {
  await store.close();
  rmSync(scratch, { recursive: true, force: true });
});

const sensorRequests = (sensor: string) => store.kept.filter((m) => m.sensorId === sensor);

describe('eval testbed on vgg16-tiny', () => {
  it('writes the pool with baseline marks and the results in eval simulate\'s shape', () => {
    expect(outcome.pool).toBe(join(scratch, 'out', `pool-${MODEL}.csv`));
    expect(existsSync(outcome.results)).toBe(true);
    const aggregates = aggregatePool(pool);
    // input, the cut point, output; every configuration measured twice
    expect(new Set(pool.map((r) => r.cut)).size).toBe(3);
    expect(aggregates.every((a) => a.runs === 2)).toBe(true);
    // The cloud-only baseline is the input as captured (fp32); lossy input codecs are choices, unmarked.
    const cloudOnly = pool.filter((r) => r.cut === 'input');
    expect(cloudOnly.some((r) => r.codec === 'fp32')).toBe(true);
    expect(cloudOnly.every((r) => r.baseline === (r.codec === 'fp32' ? 'cloud-only' : ''))).toBe(true);
    const edgeOnly = aggregates.filter((a) => a.configuration.cut === 'output');
    const fastest = edgeOnly.reduce((a, b) => (b.latencyMs < a.latencyMs || (b.latencyMs === a.latencyMs && b.energyJ < a.energyJ) ? b : a));
    expect(aggregates.filter((a) => a.baseline === 'edge-only').map((a) => a.configuration.name)).toEqual([fastest.configuration.name]);
    expect(pool.filter((r) => r.cut !== 'input' && r.cut !== 'output').every((r) => r.baseline === '')).toBe(true);
    expect(Object.keys(results.strategies)).toEqual([...STRATEGY_NAMES]);
    expect(Object.keys(results.records)).toEqual([...STRATEGY_NAMES]);
    expect(results.meta).toMatchObject({
      source: 'testbed', model: MODEL, seed: 3, budgets: BUDGETS, edgeProfile: 'rpi4', cloudProfile: 'gpu-server',
      sources: { latency: 'emulated', energy: 'modelled', accuracy: 'measured' },
    });
    for (const figures of Object.values(results.strategies) as Record<string, unknown>[]) {
      expect(Object.keys(figures)).toEqual(['requests', 'meanEnergyJ', 'medianEnergyJ', 'budgetMetRate', 'meanLatencyMs', 'p95LatencyMs', 'meanAccuracy', 'savingsVsCloudOnly', 'configurations']);
    }
  });

  it('gives every strategy the same budgets, and every figure agrees with the strategy\'s records', () => {
    const budgets = budgetSequence(BUDGETS, poolTable(pool, { model: MODEL }), 3, 6);
    for (const name of STRATEGY_NAMES) {
      const records = results.records[name] as { budgetMs: number; latencyMs: number; energyJ: number; configuration: string; met: boolean }[];
      const figures = results.strategies[name];
      expect(results.testbed[name].failures, name).toEqual({});
      expect(records.map((r) => r.budgetMs), name).toEqual(budgets);
      expect(figures.requests).toBe(records.length);
      expect(figures.budgetMetRate, name).toBe(records.filter((r) => r.met).length / records.length);
      expect(records.every((r) => r.met === r.latencyMs <= r.budgetMs)).toBe(true);
      expect(figures.meanEnergyJ, name).toBeCloseTo(records.reduce((s, r) => s + r.energyJ, 0) / records.length, 9);
      const mix: Record<string, number> = {};
      for (const r of records) mix[r.configuration] = (mix[r.configuration] ?? 0) + 1;
      expect(figures.configurations, name).toEqual(mix);
    }
  });

  it('forces exactly the configuration each static strategy and baseline chooses from the pool', () => {
    const table = poolTable(pool, { model: MODEL });
    const noDraws = {} as DrawContext;
    for (const name of ['cloud-only', 'edge-only', 'static-min-energy', 'static-min-latency'] as StrategyName[]) {
      const chosen = createStrategy(name, table).choose({ budgetMs: 100, index: 0 }, noDraws);
      expect(results.testbed[name]).toMatchObject({ run: 'forced', configuration: chosen, unforced: 0 });
      expect(results.records[name].every((r: { configuration: string }) => r.configuration === chosen), name).toBe(true);
      // The edge node recorded every one of them under the strategy's own sensor.
      expect(sensorRequests(`testbed-${name}`).map((m) => m.configuration)).toEqual(results.records[name].map((r: { configuration: string }) => r.configuration));
    }
  });

  it('lets the edge node decide for dynasplit and dynasplit-safe, with the pool\'s front published as its policy', () => {
    const front = frontToPolicy(paretoFront(aggregatePool(pool)), { model: MODEL, edgeClass: 'default', version: 0, rule: 'energy-first', source: '' });
    const versions: number[] = [];
    for (const [name, rule] of [['dynasplit', 'energy-first'], ['dynasplit-safe', 'energy-first-p95']] as const) {
      const run = results.testbed[name];
      const records = results.records[name] as { configuration: string }[];
      expect(run).toMatchObject({ run: 'policy', unforced: records.length, policy: { rule, entries: front.entries!.map((e) => e.configuration!.name) } });
      expect(records.every((r) => run.policy.entries.includes(r.configuration)), name).toBe(true);
      expect(run.matchesPoolDecision).toBe(records.length);
      expect(sensorRequests(`testbed-${name}`)).toHaveLength(records.length);
      versions.push(run.policy.version);
    }
    expect(versions[1]).toBeGreaterThan(versions[0]);
  });

  it('computes the oracle over the pool as eval simulate does, on the same budgets', () => {
    expect(results.testbed.oracle.run).toBe('oracle');
    const budgets = results.records.oracle.map((r: { budgetMs: number }) => r.budgetMs);
    const simulated = simulate({ rows: pool, budgets, strategies: ['oracle'], seed: 3, model: MODEL }).strategies.oracle;
    expect(results.strategies.oracle).toEqual(JSON.parse(JSON.stringify(simulated)));
    const { claims } = results;
    expect(claims.energyRatio).toBeCloseTo(results.strategies.dynasplit.meanEnergyJ / results.strategies.oracle.meanEnergyJ, 9);
    expect(claims.energyWithin5PctOfOracle).toBe(claims.energyRatio <= 1.05 + 1e-9);
    expect(claims.budgetMetPoints).toBeCloseTo((results.strategies.dynasplit.budgetMetRate - results.strategies.oracle.budgetMetRate) * 100, 9);
  });

  it('profiled through the control channel under its own sensor ids', () => {
    expect(sensorRequests('testbed-profile')).toHaveLength(pool.length);
    expect(sensorRequests('testbed-warmup')).toHaveLength(3);
  });
});

describe('eval testbed command', () => {
  it('prints the figures and the claims, and writes the files', async () => {
    let out = '';
    let err = '';
    const dir = join(scratch, 'cli');
    const code = await main(['eval', 'testbed', '--models', `${MODEL}=${modelFile()}`, '--requests', '3', '--repetitions', '1', '--space', SPACE,
      '--strategies', 'cloud-only,dynasplit,oracle', '--budgets', BUDGETS, '--out', dir, '--log-level', 'silent'],
    { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, isTTY: false });
    expect(code, err).toBe(0);
    expect(err).toMatch(/estimate: ~/);
    expect(out).toMatch(/^cloud-only +live +3 /m);
    expect(out).toMatch(/^oracle +pool +3 /m);
    expect(out).toMatch(/(PASS|FAIL) mean energy within 5% of the oracle's/);
    expect(existsSync(join(dir, `pool-${MODEL}.csv`)) && existsSync(join(dir, `results-${MODEL}.json`))).toBe(true);
  }, 120_000);

  it('refuses an unknown strategy before starting anything', async () => {
    let err = '';
    const code = await main(['eval', 'testbed', '--strategies', 'dynasplit,clairvoyant'], { stdout: () => undefined, stderr: (t) => { err += t; }, isTTY: false });
    expect(code).toBe(2);
    expect(err).toContain('clairvoyant');
  });
});
