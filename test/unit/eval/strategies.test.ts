import { describe, expect, it } from 'vitest';
import { isDynasplitError } from '../../../common/index.ts';
import { cloudOnlyBaseline, createStrategies, createStrategy, poolTable, simulate, STRATEGY_NAMES, type DrawContext, type PoolTable, type StrategyName } from '../../../eval/index.ts';
import { poolRow, type PoolRow } from '../../../pareto/index.ts';

/**
 * A pool whose answers are known by hand (one run each unless noted; ms, J):
 *   cloud-only/fp32              input   50 ms  2.0 J  marked cloud-only
 *   cloud-only/fp32[cloud:cpu]   input   80 ms  1.8 J  marked cloud-only
 *   edge-only[600MHz]            output 1200 ms 1.5 J
 *   edge-only[1800MHz]           output  400 ms 1.4 J
 *   split@a/fp16                 a       200 ms 1.6 J  accuracy 0.99
 *   split@b/int8                 b  290/300/400 ms 1.0 J  accuracy 0.95 (median 300, p95 400)
 * Front in policy order: split@b (300 | p95 400), edge-only[1800] (400), split@a (200), cloud-only cpu (80), cloud-only (50).
 */
function handPool(extra: PoolRow[] = []): PoolRow[] {
  const row = (configuration: string, cut: string, latencyMs: number, energyJ: number, more: Partial<PoolRow> = {}) =>
    poolRow({ model: 'm', configuration, cut, latencyMs, energyJ, accuracy: 1, ...more });
  return [
    row('cloud-only/fp32', 'input', 50, 2.0, { baseline: 'cloud-only' }),
    row('cloud-only/fp32[cloud:cpu]', 'input', 80, 1.8, { baseline: 'cloud-only' }),
    row('edge-only[600MHz]', 'output', 1200, 1.5),
    row('edge-only[1800MHz]', 'output', 400, 1.4),
    row('split@a/fp16', 'a', 200, 1.6, { accuracy: 0.99 }),
    ...[290, 300, 400].map((l) => row('split@b/int8', 'b', l, 1.0, { accuracy: 0.95 })),
    ...extra,
  ];
}

/** Each configuration's first run (the hand pool's figures are per configuration). */
const firstRuns = (table: PoolTable): DrawContext => ({ table, run: (c) => table.members[c][0] });

function chooser(name: StrategyName, rows = handPool()) {
  const table = poolTable(rows);
  const strategy = createStrategy(name, table);
  return (budgetMs: number, ctx = firstRuns(table)) => strategy.choose({ budgetMs, index: 0 }, ctx);
}

describe('strategies on a hand-made pool', () => {
  it('an accuracy floor leaves the less accurate configurations out of every choice, the baselines kept', () => {
    const table = poolTable(handPool(), { accuracyFloor: 0.99 });
    expect(table.names).not.toContain('split@b/int8');
    expect(table.names).toContain('split@a/fp16');
    const choose = (name: StrategyName, budgetMs: number) => createStrategy(name, table).choose({ budgetMs, index: 0 }, firstRuns(table));
    expect(choose('static-min-energy', 1e9)).toBe('edge-only[1800MHz]');
    expect(choose('dynasplit', 300)).toBe('split@a/fp16');
    expect(choose('oracle', 1000)).toBe('edge-only[1800MHz]');
    const strict = poolTable(handPool().map((r) => ({ ...r, accuracy: r.baseline ? 1 : 0.5 })), { accuracyFloor: 0.9 });
    expect(strict.names.sort()).toEqual(['cloud-only/fp32', 'cloud-only/fp32[cloud:cpu]']);
    expect(() => poolTable(handPool(), { accuracyFloor: 1.5 })).toThrow(/within 0..1/);
  });

  it('a floor that no configuration reaches, baselines included, is refused rather than leaving the baselines alone', () => {
    // A model whose answers are never judged the same (accuracy 0 throughout): the floor is a mistake.
    const zero = handPool().map((r) => ({ ...r, accuracy: 0 }));
    expect(() => poolTable(zero, { accuracyFloor: 0.5 })).toThrow(/no configuration of the pool reaches accuracy 0.5 \(the best reaches 0.000\)/);
    expect(poolTable(zero, { accuracyFloor: 0 }).names.length).toBe(poolTable(zero).names.length);
  });

  it('cloud-only takes the fastest configuration marked cloud-only; static-min-latency the least median latency', () => {
    expect(chooser('cloud-only')(10)).toBe('cloud-only/fp32');
    expect(chooser('static-min-latency')(10)).toBe('cloud-only/fp32');
  });

  it('of baselines equally fast (within 5%: a cloud faster than the emulating host), takes the cheapest', () => {
    const row = (configuration: string, latencyMs: number, energyJ: number) =>
      poolRow({ model: 'm', configuration, cut: 'input', latencyMs, energyJ, accuracy: 1, baseline: 'cloud-only' });
    const tied = [row('cloud-only/fp32[cloud:cpu]', 228, 9.2), row('cloud-only/fp32[cloud:gpu]', 229, 1.6), row('cloud-only/fp32[cloud:tpu]', 250, 0.9)];
    expect(chooser('cloud-only', tied)(10)).toBe('cloud-only/fp32[cloud:gpu]');
    expect(cloudOnlyBaseline(poolTable(tied).aggregates, true)?.configuration.name).toBe('cloud-only/fp32[cloud:gpu]');
  });

  it('edge-only takes the one marked edge-only, else the fastest with cut output', () => {
    expect(chooser('edge-only')(1e9)).toBe('edge-only[1800MHz]');
    const marked = handPool().map((r) => (r.configuration === 'edge-only[600MHz]' ? { ...r, baseline: 'edge-only' as const } : r));
    expect(chooser('edge-only', marked)(1e9)).toBe('edge-only[600MHz]');
  });

  it('static-min-energy takes the least mean energy whatever the budget', () => {
    const choose = chooser('static-min-energy');
    expect([choose(1), choose(1e9)]).toEqual(['split@b/int8', 'split@b/int8']);
  });

  it('dynasplit walks the front by energy and takes the first whose median fits, else the fastest', () => {
    const choose = chooser('dynasplit');
    expect([1000, 350, 300, 250, 100, 60, 10].map((b) => choose(b))).toEqual([
      'split@b/int8', 'split@b/int8', 'split@b/int8', 'split@a/fp16', 'cloud-only/fp32[cloud:cpu]', 'cloud-only/fp32', 'cloud-only/fp32',
    ]);
    // Just under split@b's median: edge-only[1800MHz] (next by energy) is slower still, so split@a.
    expect(choose(299)).toBe('split@a/fp16');
  });

  it('dynasplit-safe decides on p95: split@b (p95 400) needs a budget of 400', () => {
    const choose = chooser('dynasplit-safe');
    expect([350, 399, 400, 1000].map((b) => choose(b))).toEqual(['split@a/fp16', 'split@a/fp16', 'split@b/int8', 'split@b/int8']);
  });

  it('the oracle takes the cheapest drawn run within the budget, else the fastest drawn run', () => {
    const choose = chooser('oracle');
    expect([1000, 350, 250, 100, 60, 10].map((b) => choose(b))).toEqual([
      'split@b/int8', 'split@b/int8', 'split@a/fp16', 'cloud-only/fp32[cloud:cpu]', 'cloud-only/fp32', 'cloud-only/fp32',
    ]);
    // With the draw of split@b being its 400 ms run, a 350 ms budget needs the next cheapest that fits: split@a.
    const table = poolTable(handPool());
    const b = table.names.indexOf('split@b/int8');
    const slow: DrawContext = { table, run: (c) => table.members[c][c === b ? 2 : 0] };
    expect(choose(350, slow)).toBe('split@a/fp16');
    expect(choose(400, slow)).toBe('split@b/int8');
  });

  it('the oracle meets budgets a rule on medians misses when runs vary', () => {
    // A: 100 or 500 ms (median 300) at 1 J; B: 200 ms at 2 J. A 300 ms budget: the rule always takes A.
    const rows = [
      poolRow({ configuration: 'A', latencyMs: 100, energyJ: 1 }), poolRow({ configuration: 'A', latencyMs: 500, energyJ: 1 }),
      poolRow({ configuration: 'B', latencyMs: 200, energyJ: 2 }),
    ];
    const report = simulate({ rows, budgets: [300], requests: 4000, strategies: ['dynasplit', 'oracle'], seed: 3 }).strategies;
    expect(report.dynasplit.configurations).toEqual({ A: 4000 });
    expect(report.dynasplit.budgetMetRate).toBeGreaterThan(0.45);
    expect(report.dynasplit.budgetMetRate).toBeLessThan(0.55);
    expect(report.oracle.budgetMetRate).toBe(1);
    expect(report.oracle.configurations.A + report.oracle.configurations.B).toBe(4000);
    expect(report.oracle.meanEnergyJ).toBeCloseTo(1 + report.oracle.configurations.B / 4000, 12);
  });
});

describe('strategy names and baselines', () => {
  it('refuses unknown names with BAD_ARGS listing the valid ones', () => {
    const table = poolTable(handPool());
    try {
      createStrategies(['dynasplit', 'greedy', 'random'], table);
      expect.unreachable();
    } catch (err) {
      expect(isDynasplitError(err, 'DYNASPLIT_ERR_BAD_ARGS')).toBe(true);
      expect((err as Error).message).toBe(`unknown strategies 'greedy', 'random'; strategies: ${STRATEGY_NAMES.join(', ')}`);
    }
    expect(() => createStrategies([], table)).toThrow(/no strategies given/);
  });

  it('cloud-only without a mark falls back to cut input; without either it is refused', () => {
    const unmarked = handPool().map((r) => ({ ...r, baseline: '' as const }));
    expect(chooser('cloud-only', unmarked)(1)).toBe('cloud-only/fp32');
    const noCloud = unmarked.filter((r) => r.cut !== 'input');
    expect(() => chooser('cloud-only', noCloud)).toThrow(/strategy 'cloud-only' needs a baseline the pool lacks/);
    expect(() => chooser('edge-only', noCloud.filter((r) => r.cut !== 'output'))).toThrow(/strategy 'edge-only' needs a baseline/);
  });

  it('finds a baseline whose median latency is 0 or, from clocks a fraction of a millisecond apart, just below', () => {
    for (const latencyMs of [0, -0.06]) {
      const rows = handPool().map((r) => (r.configuration === 'edge-only[1800MHz]' ? { ...r, latencyMs, baseline: 'edge-only' as const } : r));
      expect(chooser('edge-only', rows)(1)).toBe('edge-only[1800MHz]');
    }
  });

  it('returns the strategies in the order asked', () => {
    const table = poolTable(handPool());
    expect(createStrategies(['oracle', 'cloud-only', 'dynasplit'], table).map((s) => s.name)).toEqual(['oracle', 'cloud-only', 'dynasplit']);
  });
});
