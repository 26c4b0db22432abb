import { describe, expect, it } from 'vitest';
import { budgetDistribution, latencyRange, poolTable } from '../../../eval/index.ts';
import { poolRow } from '../../../pareto/index.ts';
import { budgetSampler } from '../../../workload/index.ts';

// Medians: a 100 ms, b 300 ms, c 500 ms.
const table = poolTable([
  poolRow({ configuration: 'a', latencyMs: 90, energyJ: 1 }), poolRow({ configuration: 'a', latencyMs: 110, energyJ: 1 }),
  poolRow({ configuration: 'b', latencyMs: 300, energyJ: 1 }),
  poolRow({ configuration: 'c', latencyMs: 500, energyJ: 1 }),
]);

const draw = (next: () => number, n: number) => Array.from({ length: n }, next);

describe('budgets over a pool', () => {
  it('take the range from the fastest to the slowest median latency', () => {
    expect(latencyRange(table)).toEqual({ fastestMs: 100, slowestMs: 500 });
  });

  it('scale weibull:SHAPE to that range, as the workload sampler does with it', () => {
    const budgets = draw(budgetDistribution('weibull:2', table, 4), 2000);
    expect(Math.min(...budgets)).toBeGreaterThanOrEqual(100);
    expect(budgets).toEqual(draw(budgetSampler('weibull:2', { seed: 4, range: { fastestMs: 100, slowestMs: 500 } }), 2000));
    expect(draw(budgetDistribution('weibull:2', table, 3), 5)).not.toEqual(draw(budgetDistribution('weibull:2', table, 4), 5));
  });

  it('leave specs with their own scale as they are', () => {
    expect(draw(budgetDistribution('weibull:2:50', table, 3), 5)).toEqual(draw(budgetSampler('weibull:2:50', { seed: 3 }), 5));
    expect(draw(budgetDistribution('fixed:250', table, 1), 3)).toEqual([250, 250, 250]);
  });
});
