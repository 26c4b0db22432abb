import { describe, expect, it } from 'vitest';
import { drawIndex, drawKey, requestKey, simulate, STRATEGY_NAMES, type RequestRecord } from '../../../eval/index.ts';
import { medianOfSorted, nearestRank } from '../../../common/index.ts';
import { poolRow, type PoolRow } from '../../../pareto/index.ts';
import { seededRandom, type Random } from '../../helpers/random.ts';

/** A random pool: cloud-only (marked), edge-only, and splits; a few runs each with spread. */
function randomPool(random: Random, configurations = 12, runs = 5): PoolRow[] {
  const rows: PoolRow[] = [];
  for (let c = 0; c < configurations; c++) {
    const cut = c === 0 ? 'input' : c === 1 ? 'output' : `t${c}`;
    const latency = 20 + 400 * random();
    const energy = 0.2 + 2 * random();
    const accuracy = 0.9 + 0.1 * random();
    for (let r = 0; r < runs; r++) {
      rows.push(poolRow({
        model: 'm', configuration: `c${c}`, cut, latencyMs: latency * (0.6 + 0.8 * random()), energyJ: energy * (0.8 + 0.4 * random()),
        accuracy: Math.min(1, accuracy + 0.02 * (random() - 0.5)), baseline: c === 0 ? 'cloud-only' : c === 1 ? 'edge-only' : '',
      }));
    }
  }
  return rows;
}

const ALL = [...STRATEGY_NAMES];

describe('simulate', () => {
  it('is reproducible: the same seed gives the same report, another seed another', () => {
    const rows = randomPool(seededRandom(1));
    const run = (seed: number) => JSON.stringify(simulate({ rows, budgets: 'weibull:2', requests: 5000, strategies: ALL, seed }));
    expect(run(7)).toBe(run(7));
    expect(run(8)).not.toBe(run(7));
  });

  it('gives a strategy the same figures alone as beside others (draws do not depend on who asks)', () => {
    const rows = randomPool(seededRandom(2));
    const all = simulate({ rows, budgets: 'uniform:50:400', requests: 3000, strategies: ALL, seed: 5 });
    for (const name of ['dynasplit', 'oracle', 'edge-only']) {
      expect(simulate({ rows, budgets: 'uniform:50:400', requests: 3000, strategies: [name], seed: 5 }).strategies[name]).toEqual(all.strategies[name]);
    }
  });

  it('reports exactly the fields asked for, and savings against cloud-only over the same draws', () => {
    const rows = randomPool(seededRandom(3));
    const { strategies } = simulate({ rows, budgets: 'fixed:200', requests: 2000, strategies: ['cloud-only', 'dynasplit'], seed: 1 });
    expect(Object.keys(strategies.dynasplit)).toEqual([
      'requests', 'meanEnergyJ', 'medianEnergyJ', 'budgetMetRate', 'meanLatencyMs', 'p95LatencyMs', 'meanAccuracy', 'savingsVsCloudOnly', 'configurations',
    ]);
    expect(strategies['cloud-only'].savingsVsCloudOnly).toBe(0);
    expect(strategies.dynasplit.savingsVsCloudOnly).toBeCloseTo(1 - strategies.dynasplit.meanEnergyJ / strategies['cloud-only'].meanEnergyJ, 12);
    // Without a cloud-only mark there is nothing to save against.
    const unmarked = rows.map((r) => ({ ...r, baseline: '' as const }));
    expect(simulate({ rows: unmarked, budgets: 'fixed:200', requests: 10, strategies: ['cloud-only'] }).strategies['cloud-only'].savingsVsCloudOnly).toBeNull();
  });

  it('computes the median energy and p95 latency exactly', () => {
    const rows = randomPool(seededRandom(4), 6, 7);
    const energies: number[][] = ALL.map(() => []);
    const latencies: number[][] = ALL.map(() => []);
    const met = ALL.map(() => 0);
    for (const requests of [1, 2, 999, 1000]) {
      energies.forEach((e) => (e.length = 0));
      latencies.forEach((l) => (l.length = 0));
      met.fill(0);
      const { strategies } = simulate({
        rows, budgets: 'exponential:200', requests, strategies: ALL, seed: requests,
        onRequest: (r) => r.rows.forEach((row, s) => {
          energies[s].push(rows[row].energyJ);
          latencies[s].push(rows[row].latencyMs);
          if (rows[row].latencyMs <= r.budgetMs) met[s]++;
        }),
      });
      ALL.forEach((name, s) => {
        const report = strategies[name];
        expect(report.medianEnergyJ).toBe(medianOfSorted(Float64Array.from(energies[s]).sort()));
        expect(report.p95LatencyMs).toBe(nearestRank(Float64Array.from(latencies[s]).sort(), 0.95));
        expect(report.budgetMetRate).toBe(met[s] / requests);
        expect(report.requests).toBe(requests);
        expect(Object.values(report.configurations).reduce((a, b) => a + b, 0)).toBe(requests);
      });
    }
  });

  it('uses a budget list in order, cycling it when there are more requests', () => {
    const rows = randomPool(seededRandom(5));
    const seen: number[] = [];
    simulate({ rows, budgets: [30, 10, 20], strategies: ['dynasplit'], onRequest: (r) => seen.push(r.budgetMs) });
    expect(seen).toEqual([30, 10, 20]);
    seen.length = 0;
    simulate({ rows, budgets: [30, 10, 20], requests: 7, strategies: ['dynasplit'], onRequest: (r) => seen.push(r.budgetMs) });
    expect(seen).toEqual([30, 10, 20, 30, 10, 20, 30]);
    expect(() => simulate({ rows, budgets: 'weibull:2', strategies: ['dynasplit'] })).toThrow(/number of requests is needed/);
  });

  it('draws each run of a configuration about equally often', () => {
    const key = drawKey(9);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[drawIndex(requestKey(key, i), 3, 7)]++;
    for (const n of counts) expect(Math.abs(n - 10_000)).toBeLessThan(400);
  });

  it('refuses a pool of several models unless one is chosen, and a strategy listed twice', () => {
    const rows = [...randomPool(seededRandom(6)), poolRow({ model: 'other', configuration: 'x', latencyMs: 1, energyJ: 1 })];
    expect(() => simulate({ rows, budgets: [1], strategies: ['oracle'] })).toThrow(/several models \(m, other\)/);
    expect(simulate({ rows, budgets: [1], strategies: ['oracle'], model: 'other' }).strategies.oracle.configurations).toEqual({ x: 1 });
    expect(() => simulate({ rows, budgets: [1], strategies: ['oracle', 'oracle'], model: 'm' })).toThrow(/listed twice: oracle/);
  });
});

describe('the oracle is never beaten', () => {
  /** Checks one request: the oracle met the budget iff some drawn run did, at the least energy of those that did. */
  function check(record: RequestRecord, rows: PoolRow[], oracle: number, failures: string[]): void {
    const { ctx, budgetMs } = record;
    let cheapestMet = Infinity;
    for (let c = 0; c < ctx.table.names.length; c++) {
      const run = rows[ctx.run(c)];
      if (run.latencyMs <= budgetMs) cheapestMet = Math.min(cheapestMet, run.energyJ);
    }
    const mine = rows[record.rows[oracle]];
    const ok = cheapestMet === Infinity ? mine.latencyMs > budgetMs : mine.latencyMs <= budgetMs && mine.energyJ === cheapestMet;
    record.rows.forEach((row, s) => {
      const other = rows[row];
      if (other.latencyMs <= budgetMs && (mine.latencyMs > budgetMs || other.energyJ < mine.energyJ)) failures.push(`request ${record.index}: strategy ${s} beat it`);
    });
    if (!ok) failures.push(`request ${record.index}: oracle chose ${mine.configuration}`);
  }

  it('on random pools, budgets and seeds: never misses a budget another run met, never spends more among runs that met it', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const random = seededRandom(seed);
      const rows = randomPool(random, 4 + Math.floor(random() * 20), 1 + Math.floor(random() * 8));
      const failures: string[] = [];
      const oracle = ALL.indexOf('oracle');
      const { strategies } = simulate({
        rows, budgets: seed % 2 ? 'weibull:1.5' : 'uniform:10:500', requests: 400, strategies: ALL, seed,
        onRequest: (r) => check(r, rows, oracle, failures),
      });
      expect(failures.slice(0, 3)).toEqual([]);
      for (const name of ALL) expect(strategies.oracle.budgetMetRate).toBeGreaterThanOrEqual(strategies[name].budgetMetRate);
      // With budgets every run meets, the oracle has the least mean energy.
      const loose = simulate({ rows, budgets: 'fixed:100000', requests: 400, strategies: ALL, seed }).strategies;
      for (const name of ALL) expect(loose.oracle.meanEnergyJ).toBeLessThanOrEqual(loose[name].meanEnergyJ + 1e-12);
    }
  });
});
