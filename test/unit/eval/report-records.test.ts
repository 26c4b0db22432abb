// Per-request records from the simulation: what `eval report` draws its distributions from.
import { describe, expect, it } from 'vitest';
import { isDynasplitError } from '../../../common/index.ts';
import { simulate, STRATEGY_NAMES } from '../../../eval/index.ts';
import { poolRow, type PoolRow } from '../../../pareto/index.ts';

const pool: PoolRow[] = [
  poolRow({ model: 'm', configuration: 'cloud', cut: 'input', latencyMs: 50, energyJ: 2, accuracy: 1, baseline: 'cloud-only' }),
  poolRow({ model: 'm', configuration: 'cloud', cut: 'input', latencyMs: 70, energyJ: 2.2, accuracy: 1, baseline: 'cloud-only' }),
  poolRow({ model: 'm', configuration: 'edge', cut: 'output', latencyMs: 400, energyJ: 1, accuracy: 0.97, baseline: 'edge-only' }),
  poolRow({ model: 'm', configuration: 'split', cut: 'x', latencyMs: 150, energyJ: 1.5, accuracy: 0.99 }),
  poolRow({ model: 'm', configuration: 'split', cut: 'x', latencyMs: 250, energyJ: 1.4 }),
];
const ALL = [...STRATEGY_NAMES];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('simulate records', () => {
  it('keeps every request when there are no more than asked, consistent with the figures', () => {
    const r = simulate({ rows: pool, budgets: 'uniform:40:500', requests: 800, strategies: ALL, seed: 2, records: 1000 });
    expect(r.recordsSampled).toBe(false);
    for (const name of ALL) {
      const list = r.records![name];
      const f = r.strategies[name];
      expect(list).toHaveLength(800);
      expect(mean(list.map((x) => x.energyJ))).toBeCloseTo(f.meanEnergyJ, 12);
      expect(mean(list.map((x) => x.latencyMs))).toBeCloseTo(f.meanLatencyMs, 12);
      expect(mean(list.map((x) => x.accuracy))).toBeCloseTo(f.meanAccuracy, 12);
      expect(list.filter((x) => x.met).length / 800).toBe(f.budgetMetRate);
      const mix: Record<string, number> = {};
      for (const x of list) mix[x.configuration] = (mix[x.configuration] ?? 0) + 1;
      expect(mix).toEqual(f.configurations);
      for (const x of list) expect(x.met).toBe(x.latencyMs <= x.budgetMs);
    }
    // A run without accuracy counts with its configuration's mean of those that did.
    expect(r.records!.dynasplit.some((x) => x.configuration === 'split' && x.accuracy === 0.99)).toBe(true);
  });

  it('samples exactly the number asked, the same requests for every strategy, in request order, spread over the run', () => {
    const budgets = Array.from({ length: 20_000 }, (_, i) => 1000 + i);
    const r = simulate({ rows: pool, budgets, strategies: ['dynasplit', 'oracle'], seed: 5, records: 500 });
    expect(r.recordsSampled).toBe(true);
    const index = r.records!.dynasplit.map((x) => x.budgetMs - 1000);
    expect(index).toHaveLength(500);
    expect(r.records!.oracle.map((x) => x.budgetMs - 1000)).toEqual(index);
    expect(index.every((v, i) => i === 0 || v > index[i - 1])).toBe(true);
    // A uniform sample of 0..19,999: mean near 10,000 (sd of the mean ~258), in every quarter.
    expect(Math.abs(mean(index) - 10_000)).toBeLessThan(1_000);
    for (let q = 0; q < 4; q++) expect(index.filter((v) => Math.floor(v / 5000) === q).length).toBeGreaterThan(90);
  });

  it('is reproducible per seed and leaves the figures as they are without records', () => {
    const run = (seed: number) => simulate({ rows: pool, budgets: 'weibull:2', requests: 5000, strategies: ALL, seed, records: 100 });
    expect(run(3).records).toEqual(run(3).records);
    expect(run(4).records).not.toEqual(run(3).records);
    const plain = simulate({ rows: pool, budgets: 'weibull:2', requests: 5000, strategies: ALL, seed: 3 });
    expect(Object.keys(plain)).toEqual(['strategies']);
    expect(run(3).strategies).toEqual(plain.strategies);
  });

  it('is refused with queueing, and for a count that is not a non-negative integer', () => {
    const refused = (records: number, queueing?: { edges: number; workers: number; ratePerSecond: number }) => {
      try {
        simulate({ rows: pool, budgets: 'fixed:100', requests: 10, strategies: ['dynasplit'], records, queueing });
      } catch (err) {
        return isDynasplitError(err, 'DYNASPLIT_ERR_BAD_ARGS') ? err.message : 'other error';
      }
      return 'accepted';
    };
    expect(refused(10, { edges: 2, workers: 1, ratePerSecond: 1 })).toMatch(/not available with queueing/);
    expect(refused(-1)).toMatch(/records must be a non-negative integer/);
    expect(refused(1.5)).toMatch(/records must be a non-negative integer/);
    expect(refused(0, { edges: 2, workers: 1, ratePerSecond: 1 })).toBe('accepted');
  });
});
