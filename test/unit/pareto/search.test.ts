import { describe, expect, it } from 'vitest';
import {
  budgetCount, configurationAt, paretoFront, poolRow, rangeHypervolumeRatio, search, searchAsync, searchRuns, SEARCH_STRATEGIES, type Objectives, type SearchProgress,
} from '../../../pareto/index.ts';
import { testSpace } from '../../helpers/search-space.ts';

const SEEDS = [1, 2, 3, 4, 5];

describe('search on a measuring budget', () => {
  const ts = testSpace(1);
  const measure = (index: number) => ts.pool.get(index);

  it('generates a space with absent configurations (the fixture is what the tests assume)', () => {
    expect(ts.space.size).toBe(606);
    expect(ts.pool.size).toBeLessThan(ts.space.size - 40);
    expect(ts.exact.length).toBeGreaterThan(5);
  });

  // Two split cuts: 174 configurations (NSGA-II replays itself once per measurement: quadratic in the budget).
  const small = testSpace(2, 2);

  for (const strategy of SEARCH_STRATEGIES) {
    it(`${strategy}: with the whole space as budget, the front is the exact front`, () => {
      const result = search(small.space, (i) => small.pool.get(i), { budget: small.space.size, strategy, seed: 3 });
      expect(result.trials).toHaveLength(small.space.size);
      expect(new Set(result.trials.map((t) => t.index)).size).toBe(small.space.size);
      expect(result.unmeasurable).toBe(small.space.size - small.pool.size);
      expect(result.unmeasurable).toBeGreaterThan(0);
      expect(result.front.map((i) => small.pool.get(i))).toEqual(small.exact);
    });

    it(`${strategy}: spends exactly the budget, never measures twice, and returns only what the pool has`, () => {
      const calls: number[] = [];
      const progress: SearchProgress[] = [];
      const result = search(ts.space, (i) => { calls.push(i); return ts.pool.get(i); }, { budget: 121, strategy, seed: 2, onProgress: (p) => progress.push(p) });
      expect(calls).toHaveLength(121);
      expect(new Set(calls).size).toBe(121);
      expect(result.trials.map((t) => t.index)).toEqual(calls);
      expect(progress.map((p) => p.spent)).toEqual(calls.map((_, k) => k + 1));
      expect(result.unmeasurable).toBe(calls.filter((i) => !ts.pool.has(i)).length);
      expect(progress.at(-1)).toMatchObject({ spent: 121, budget: 121, unmeasurable: result.unmeasurable, front: result.front.length });
      for (const t of result.trials) expect(t.outcome).toBe(ts.pool.get(t.index));
      for (const i of result.front) expect(ts.pool.has(i)).toBe(true);
      const measured = result.trials.flatMap((t) => (t.outcome ? [t.outcome] : []));
      expect(result.front.map((i) => ts.pool.get(i))).toEqual(paretoFront(measured));
    });

    it(`${strategy}: is deterministic per seed, and the async search measures the same`, async () => {
      const a = search(ts.space, measure, { budget: 60, strategy, seed: 7 });
      const b = search(ts.space, measure, { budget: 60, strategy, seed: 7 });
      const c = await searchAsync(ts.space, async (i) => { await Promise.resolve(); return ts.pool.get(i); }, { budget: 60, strategy, seed: 7 });
      const other = search(ts.space, measure, { budget: 60, strategy, seed: 8 });
      expect(b.trials.map((t) => t.index)).toEqual(a.trials.map((t) => t.index));
      expect(c.trials.map((t) => t.index)).toEqual(a.trials.map((t) => t.index));
      expect(other.trials.map((t) => t.index)).not.toEqual(a.trials.map((t) => t.index));
    });
  }

  it('at 20% of the space, the model-guided search finds more hypervolume than NSGA-II, NSGA-III and random, on average over seeds', () => {
    const mean = (strategy: 'model' | 'nsga2' | 'nsga3' | 'random') => SEEDS.reduce((sum, seed) => {
      const t = testSpace(seed);
      const result = search(t.space, (i) => t.pool.get(i), { budget: budgetCount('0.2', t.space.size), strategy, seed });
      const front = result.front.map((i) => t.pool.get(i)!);
      return sum + rangeHypervolumeRatio(front, t.exact, [...t.pool.values()]);
    }, 0) / SEEDS.length;
    const model = mean('model');
    expect(model).toBeGreaterThanOrEqual(mean('nsga2'));
    expect(model).toBeGreaterThanOrEqual(mean('nsga3'));
    expect(model).toBeGreaterThanOrEqual(mean('random'));
    expect(model).toBeGreaterThan(0.95);
  }, 60_000);

  it('learns that configurations fail together: fewer unmeasurable than a random draw', () => {
    const unmeasurable = (strategy: 'model' | 'random') => SEEDS.reduce((sum, seed) => {
      const t = testSpace(seed);
      return sum + search(t.space, (i) => t.pool.get(i), { budget: 120, strategy, seed }).unmeasurable;
    }, 0);
    expect(unmeasurable('model')).toBeLessThan(unmeasurable('random'));
  }, 60_000);

  it('an oracle that fails everything spends the budget and finds no front', () => {
    const result = search(ts.space, () => undefined, { budget: 30, strategy: 'model', seed: 1 });
    expect(result.trials).toHaveLength(30);
    expect(result.unmeasurable).toBe(30);
    expect(result.front).toEqual([]);
  });

  it('reads budgets as fractions or counts, and refuses others with a coded error', () => {
    expect(budgetCount('0.2', 606)).toBe(121);
    expect(budgetCount('20%', 606)).toBe(121);
    expect(budgetCount('1.0', 606)).toBe(606);
    expect(budgetCount('1', 606)).toBe(1);
    expect(budgetCount('5000', 606)).toBe(606);
    expect(budgetCount('0.0001', 606)).toBe(1);
    for (const bad of ['0', '-3', '1.5', '120%', 'abc', '', '2.5e0']) {
      expect(() => budgetCount(bad, 606), bad).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_ARGS' }));
    }
  });

  it('refuses an unknown strategy with a coded error', () => {
    expect(() => search(ts.space, measure, { budget: 5, strategy: 'grid' as never })).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_ARGS' }));
  });
});

describe('rangeHypervolumeRatio', () => {
  it('is 1 for the exact front, below 1 for a worse one, and measured against the whole range', () => {
    const all: Objectives[] = [
      { latencyMs: 10, energyJ: 1, accuracy: 1 }, { latencyMs: 5, energyJ: 2, accuracy: 1 }, { latencyMs: 100, energyJ: 20, accuracy: 0.9 },
    ];
    const exact = paretoFront(all);
    expect(rangeHypervolumeRatio(exact, exact, all)).toBe(1);
    const worse = [{ latencyMs: 11, energyJ: 1.1, accuracy: 1 }];
    const ratio = rangeHypervolumeRatio(worse, exact, all);
    expect(ratio).toBeLessThan(1);
    expect(ratio).toBeGreaterThan(0.9);
  });
});

describe('searchRuns: the search driving measurement runs', () => {
  it('measures configurations by name, learns from runs that recorded nothing, and matches the search over the same figures', async () => {
    const ts = testSpace(3);
    const byName = new Map([...ts.pool].map(([index, o]) => [configurationAt(ts.space, index).name, o]));
    const asked: string[] = [];
    const result = await searchRuns(ts.space, async (config) => {
      asked.push(config.name);
      const o = byName.get(config.name);
      // One recorded run per configuration the "nodes" can run; none for the others.
      return o ? [poolRow({ configuration: config.name, cut: config.cut, latencyMs: o.latencyMs, energyJ: o.energyJ, accuracy: o.accuracy })] : [];
    }, { budget: 50, strategy: 'model', seed: 4 });
    const direct = search(ts.space, (i) => ts.pool.get(i), { budget: 50, strategy: 'model', seed: 4 });
    expect(result.trials.map((t) => t.index)).toEqual(direct.trials.map((t) => t.index));
    expect(asked).toEqual(direct.trials.map((t) => configurationAt(ts.space, t.index).name));
    expect(result.measured.map((m) => m.config.name)).toEqual(asked);
    expect(result.unmeasurable).toBe(result.measured.filter((m) => m.rows.length === 0).length);
    expect(result.front).toEqual(direct.front);
  });
});
