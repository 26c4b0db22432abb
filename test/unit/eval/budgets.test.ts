import { describe, expect, it } from 'vitest';
import { isDynasplitError } from '../../../common/index.ts';
import { budgetDistribution, isDistribution, parseBudgetFile, poolTable } from '../../../eval/index.ts';
import { poolRow } from '../../../pareto/index.ts';

// Medians: a 100 ms, b 300 ms, c 500 ms.
const table = poolTable([
  poolRow({ configuration: 'a', latencyMs: 90, energyJ: 1 }), poolRow({ configuration: 'a', latencyMs: 110, energyJ: 1 }),
  poolRow({ configuration: 'b', latencyMs: 300, energyJ: 1 }),
  poolRow({ configuration: 'c', latencyMs: 500, energyJ: 1 }),
]);

const draw = (spec: string, n: number, seed = 1) => {
  const next = budgetDistribution(spec, table, seed);
  return Array.from({ length: n }, next);
};

describe('budget distributions', () => {
  it('scales weibull:SHAPE to the range between the fastest and the slowest median', () => {
    for (const shape of ['0.8', '2', '5']) {
      const budgets = draw(`weibull:${shape}`, 20_000);
      expect(Math.min(...budgets)).toBeGreaterThanOrEqual(100);
      // P(W < 1) = 1 - 1/e for every shape: about 63% of the budgets fall inside [fastest, slowest].
      const inside = budgets.filter((b) => b <= 500).length / budgets.length;
      expect(inside).toBeGreaterThan(0.61);
      expect(inside).toBeLessThan(0.65);
    }
  });

  it('passes the other distributions to the sensor\'s, seeded', () => {
    expect(draw('fixed:250', 3)).toEqual([250, 250, 250]);
    const uniform = draw('uniform:10:20', 1000);
    expect(Math.min(...uniform)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...uniform)).toBeLessThan(20);
    const exponential = draw('exponential:100', 20_000);
    expect(exponential.reduce((a, b) => a + b, 0) / exponential.length).toBeGreaterThan(95);
    expect(exponential.reduce((a, b) => a + b, 0) / exponential.length).toBeLessThan(105);
    expect(draw('weibull:2:50', 5, 3)).toEqual(draw('weibull:2:50', 5, 3));
    expect(draw('weibull:2', 5, 3)).not.toEqual(draw('weibull:2', 5, 4));
  });

  it('refuses unknown or malformed distributions with BAD_ARGS', () => {
    for (const spec of ['normal:1', 'fixed:-1', 'uniform:5', 'weibull:0', 'weibull:x']) {
      try {
        draw(spec, 1);
        expect.unreachable(spec);
      } catch (err) {
        expect(isDynasplitError(err, 'DYNASPLIT_ERR_BAD_ARGS')).toBe(true);
        expect((err as Error).message).toMatch(/is not one of fixed:MS, uniform:MIN:MAX, exponential:MEAN, weibull:SHAPE/);
      }
    }
  });

  it('tells distributions from file names', () => {
    expect(['fixed:10', 'weibull:2', 'uniform:1:2', 'exponential:5'].map(isDistribution)).toEqual([true, true, true, true]);
    expect(['budgets.txt', 'fixed', './weibull.txt', 'file:x'].map(isDistribution)).toEqual([false, false, false, false]);
  });
});

describe('budget files', () => {
  it('reads one budget per line in order, skipping blanks and comments', () => {
    expect(parseBudgetFile('# trace\n120\n\n 80.5 \r\n300 # slow\n')).toEqual([120, 80.5, 300]);
  });

  it('refuses bad lines with the line number, and empty files', () => {
    expect(() => parseBudgetFile('10\nabc\n', 'b.txt')).toThrow("b.txt:2: 'abc' is not a positive number of ms");
    expect(() => parseBudgetFile('10\n0\n', 'b.txt')).toThrow(/b.txt:2/);
    expect(() => parseBudgetFile('# none\n\n', 'b.txt')).toThrow('b.txt holds no budgets');
  });
});
