import { describe, expect, it } from 'vitest';
import { budgetDistribution, createStrategy, poolTable, simulate, type DrawContext, type StrategyName } from '../../../eval/index.ts';
import {
  budgetSequence, CLAIM_THRESHOLDS, liveCostMs, liveFigures, oracleFigures, recordOf, sourceSpec, strategyPlans, testbedClaims, testbedResults,
  type LiveRun, type TestbedRecord,
} from '../../../eval/testbed-figures.ts';
import type { StrategyReport } from '../../../eval/stats.ts';
import { frontToPolicy, paretoFront, poolRow, type PoolRow } from '../../../pareto/index.ts';

/** Runs by hand (ms, J): cloud-only 50/60, edge-only 400, split@a 200, split@b 290/300/400 at less energy and accuracy 0.95. */
function pool(): PoolRow[] {
  const row = (configuration: string, cut: string, latencyMs: number, energyJ: number, more: Partial<PoolRow> = {}) =>
    poolRow({ model: 'm', configuration, cut, latencyMs, energyJ, accuracy: 1, latencySource: 'emulated', energySource: 'modelled', ...more });
  return [
    row('cloud-only/fp32', 'input', 50, 2.0, { baseline: 'cloud-only' }),
    row('cloud-only/fp32', 'input', 60, 2.2, { baseline: 'cloud-only' }),
    row('edge-only', 'output', 400, 1.4, { baseline: 'edge-only' }),
    row('split@a/fp16', 'a', 200, 1.6),
    ...[290, 300, 400].map((l) => row('split@b/int8', 'b', l, 1.0, { accuracy: 0.95 })),
  ];
}

const record = (configuration: string, budgetMs: number, latencyMs: number, energyJ: number, accuracy = 1): TestbedRecord =>
  ({ budgetMs, latencyMs, energyJ, accuracy, configuration, met: latencyMs <= budgetMs });

describe('testbed figures', () => {
  it('gives every strategy the same budgets: a list in order (cycled), or the seeded distribution scaled to the pool', () => {
    const table = poolTable(pool());
    expect(budgetSequence([100, 200], table, 1, 5)).toEqual([100, 200, 100, 200, 100]);
    const next = budgetDistribution('weibull:2', table, 7);
    expect(budgetSequence('weibull:2', table, 7, 4)).toEqual([next(), next(), next(), next()]);
    expect(budgetSequence('weibull:2', table, 8, 4)).not.toEqual(budgetSequence('weibull:2', table, 7, 4));
  });

  it('forces what the static strategies choose; gives dynasplit the pool\'s front as a policy with its rule', () => {
    const table = poolTable(pool());
    const names: StrategyName[] = ['cloud-only', 'edge-only', 'static-min-energy', 'static-min-latency', 'dynasplit', 'dynasplit-safe', 'oracle'];
    const plans = strategyPlans(names, table, { edgeClass: 'default', source: 'emulated' });
    const ctx = { run: () => 0 } as unknown as DrawContext;
    for (const plan of plans.filter((p) => p.kind === 'forced')) {
      expect(plan.configuration.name).toBe(createStrategy(plan.name as StrategyName, table).choose({ budgetMs: 0, index: 0 }, ctx));
    }
    expect(plans.map((p) => [p.name, p.kind])).toEqual([
      ['cloud-only', 'forced'], ['edge-only', 'forced'], ['static-min-energy', 'forced'], ['static-min-latency', 'forced'],
      ['dynasplit', 'policy'], ['dynasplit-safe', 'policy'], ['oracle', 'oracle'],
    ]);
    const dynasplit = plans[4];
    const safe = plans[5];
    if (dynasplit.kind !== 'policy' || safe.kind !== 'policy') throw new Error('not a policy');
    expect(dynasplit.policy).toEqual(frontToPolicy(paretoFront(table.aggregates), { model: 'm', edgeClass: 'default', version: 0, rule: 'energy-first', source: 'emulated' }));
    expect([dynasplit.rule, safe.rule]).toEqual(['energy-first', 'energy-first-p95']);
    // split@b: median 300, p95 400. A 350 ms budget fits its median, not its p95.
    expect(dynasplit.expected(350)).toBe('split@b/int8');
    expect(safe.expected(350)).toBe('split@a/fp16');
    expect(dynasplit.expected(10)).toBe('cloud-only/fp32');
  });

  it('tallies live records as the simulation tallies runs: met share, means, exact median and p95, mix, savings', () => {
    const records = [
      record('split@b/int8', 350, 300, 1.0), record('split@b/int8', 350, 400, 1.2, 0),
      record('split@a/fp16', 250, 200, 1.6), record('cloud-only/fp32', 40, 50, 2.0),
    ];
    const r = liveFigures('m', records, 2.0);
    expect(r.requests).toBe(4);
    expect(r.budgetMetRate).toBe(records.filter((x) => x.met).length / records.length);
    expect(r.meanEnergyJ).toBeCloseTo((1.0 + 1.2 + 1.6 + 2.0) / 4, 12);
    expect(r.medianEnergyJ).toBeCloseTo((1.2 + 1.6) / 2, 12);
    expect(r.meanLatencyMs).toBe(237.5);
    expect(r.p95LatencyMs).toBe(400);
    expect(r.meanAccuracy).toBe(0.75);
    expect(r.configurations).toEqual({ 'split@b/int8': 2, 'split@a/fp16': 1, 'cloud-only/fp32': 1 });
    expect(r.savingsVsCloudOnly).toBeCloseTo(1 - r.meanEnergyJ / 2.0, 12);
    expect(liveFigures('m', records, null).savingsVsCloudOnly).toBeNull();
    expect(liveFigures('m', [], 2).requests).toBe(0);
    // Requests that got no usable result (expired, refused) are budgets missed, and in no mean.
    const failing = liveFigures('m', records, 2.0, 4);
    expect(failing).toMatchObject({ requests: 8, budgetMetRate: r.budgetMetRate / 2, meanEnergyJ: r.meanEnergyJ, meanAccuracy: 0.75 });
    expect(liveFigures('m', [], 2, 3)).toMatchObject({ requests: 3, budgetMetRate: 0 });
  });

  it('computes the oracle as eval simulate does on the pool and budgets, with one record per request', () => {
    const rows = pool();
    const budgets = [55, 250, 320, 1000, 10];
    const oracle = oracleFigures(rows, budgets, 3, 'm');
    expect(oracle.report).toEqual(simulate({ rows, budgets, strategies: ['oracle'], seed: 3, model: 'm' }).strategies.oracle);
    expect(oracle.records.map((r) => r.budgetMs)).toEqual(budgets);
    expect(oracle.records.filter((r) => r.met).length / budgets.length).toBe(oracle.report.budgetMetRate);
    expect(oracle.records.reduce((s, r) => s + r.energyJ, 0) / budgets.length).toBeCloseTo(oracle.report.meanEnergyJ, 12);
    // 1000 ms: everything meets it; the least energy is split@b's 1.0 J. 10 ms: nothing does; the fastest draw is cloud-only.
    expect(oracle.records[3]).toMatchObject({ configuration: 'split@b/int8', energyJ: 1.0, met: true });
    expect(oracle.records[4]).toMatchObject({ configuration: 'cloud-only/fp32', met: false });
    expect(oracle.runs.map((r) => r.configuration)).toEqual(oracle.records.map((r) => r.configuration));
  });

  it('checks the claims against the oracle and cloud-only, with rounding slack and null for what is missing', () => {
    const figures = (meanEnergyJ: number, budgetMetRate: number, meanAccuracy: number) => ({ meanEnergyJ, budgetMetRate, meanAccuracy }) as StrategyReport;
    const pass = testbedClaims({ dynasplit: figures(1.05, 0.97, 0.99), oracle: figures(1, 0.99, 0.9), 'cloud-only': figures(3, 1, 1) });
    expect(pass).toMatchObject({ energyWithin5PctOfOracle: true, budgetsWithin2PointsOfOracle: true, accuracyWithin1PointOfCloudOnly: true, thresholds: CLAIM_THRESHOLDS });
    expect(pass.energyRatio).toBeCloseTo(1.05, 12);
    expect(pass.budgetMetPoints).toBeCloseTo(-2, 12);
    const fail = testbedClaims({ dynasplit: figures(1.2, 0.9, 0.95), oracle: figures(1, 0.99, 1), 'cloud-only': figures(3, 1, 1) });
    expect(fail).toMatchObject({ energyWithin5PctOfOracle: false, budgetsWithin2PointsOfOracle: false, accuracyWithin1PointOfCloudOnly: false });
    const none = testbedClaims({ dynasplit: figures(1, 1, 1) });
    expect(none).toMatchObject({ energyRatio: null, energyWithin5PctOfOracle: null, accuracyVsCloudOnlyPoints: null, accuracyWithin1PointOfCloudOnly: null });
  });

  it('turns a Result into a record, states sources in one word or per run, and prices the live phase from the pool', () => {
    const result = { class_index: 7, configuration: { name: 'edge-only', cut: 'output', codec: '' }, latency: { end_to_end_ms: 120 }, energy: { joules: 1.5 } };
    expect(recordOf(result, 100, 7, 7)).toEqual({ budgetMs: 100, latencyMs: 120, energyJ: 1.5, accuracy: 1, configuration: 'edge-only', met: false });
    expect(recordOf(result, 200, 3, 7)).toMatchObject({ accuracy: 0, met: true });
    expect(recordOf(result, 200, 3, undefined)).toMatchObject({ accuracy: 0 });
    expect(sourceSpec(['emulated', 'emulated'])).toBe('emulated');
    expect(sourceSpec(['emulated', 'modelled', 'emulated'])).toEqual({ emulated: 2, modelled: 1 });
    const table = poolTable(pool());
    const plans = strategyPlans(['cloud-only', 'dynasplit', 'oracle'], table, { edgeClass: 'default', source: '' });
    // cloud-only's median is 55 ms; dynasplit runs split@b (300) at 350 ms and cloud-only (55) at 10 ms; the oracle costs nothing live.
    expect(liveCostMs(plans, table, [350, 10])).toBe(2 * 55 + 300 + 55);
  });

  it('assembles a results file: strategies in plan order, savings against the live cloud-only runs, sources, the oracle from the pool', () => {
    const rows = pool();
    const table = poolTable(rows);
    const plans = strategyPlans(['cloud-only', 'dynasplit', 'oracle'], table, { edgeClass: 'default', source: 'emulated' });
    const run = (records: TestbedRecord[], latency: string): LiveRun => ({
      records, run: { run: 'forced', unforced: 0, fallbacks: 0, failures: {} }, latencySources: records.map(() => latency), energySources: records.map(() => 'modelled'),
    });
    const live = {
      'cloud-only': run([record('cloud-only/fp32', 100, 50, 2), record('cloud-only/fp32', 400, 70, 4)], 'emulated'),
      dynasplit: run([record('cloud-only/fp32', 100, 60, 2), record('split@b/int8', 400, 310, 1)], 'measured'),
    };
    const results = testbedResults(plans, live, { rows, budgets: [100, 400] }, { model: 'm', seed: 2, budgets: 'list' });
    expect(Object.keys(results.strategies)).toEqual(['cloud-only', 'dynasplit', 'oracle']);
    expect(results.strategies.dynasplit.savingsVsCloudOnly).toBeCloseTo(1 - 1.5 / 3, 12);
    expect(results.strategies.oracle).toEqual(oracleFigures(rows, [100, 400], 2, 'm').report);
    expect(results.testbed.oracle.run).toBe('oracle');
    expect(results.meta).toMatchObject({
      source: 'testbed', model: 'm', seed: 2, budgets: 'list',
      // 2 + 2 live results and the oracle's 2 drawn runs (emulated in the pool)
      sources: { latency: { emulated: 4, measured: 2 }, energy: 'modelled', accuracy: 'measured' },
    });
    expect(results.claims.energyRatio).toBeCloseTo(results.strategies.dynasplit.meanEnergyJ / results.strategies.oracle.meanEnergyJ, 12);
  });
});

describe('accuracyByCutAndCodec', () => {
  it('judges a configuration by every run sharing its cut and codec', async () => {
    const { accuracyByCutAndCodec } = await import('../../../eval/testbed-figures.ts');
    const { aggregatePool, poolRow } = await import('../../../pareto/index.ts');
    const run = (configuration: string, cut: string, codec: string, accuracy: number) =>
      poolRow({ model: 'm', configuration, cut, codec, latencyMs: 100, energyJ: 1, accuracy });
    const rows = [
      ...[1, 1, 1].map((a) => run('split@b/int8[coral]', 'b', 'int8', a)),
      ...[1, 0, 1, 1, 1].map((a) => run('split@b/int8[cpu]', 'b', 'int8', a)),
      ...[1, 1, 1].map((a) => run('split@b/fp16[coral]', 'b', 'fp16', a)),
    ];
    const accuracyOf = accuracyByCutAndCodec(rows, 'm');
    const byName = new Map(aggregatePool(rows).map((a) => [a.configuration.name, a]));
    expect(byName.get('split@b/int8[coral]')!.accuracy).toBe(1);
    expect(accuracyOf(byName.get('split@b/int8[coral]')!)).toBeCloseTo(7 / 8, 12);
    expect(accuracyOf(byName.get('split@b/fp16[coral]')!)).toBe(1);
  });
});
