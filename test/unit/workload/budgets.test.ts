import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isDynasplitError } from '../../../common/index.ts';
import { budgetSampler, isDistribution, parseBudgetFile, parseBudgetSpec, readBudgets, type SamplerOptions } from '../../../workload/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'dynasplit-budgets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const draw = (spec: string, n = 4000, options: SamplerOptions = { seed: 3 }) => {
  const next = budgetSampler(spec, options);
  return Array.from({ length: n }, () => next());
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return isDynasplitError(err) ? err.code : 'not coded';
  }
  return undefined;
};

describe('budget specs', () => {
  it('parses every distribution and both file forms', () => {
    const file = join(dir, 'trace.txt');
    writeFileSync(file, '10\n');
    expect(parseBudgetSpec('fixed:25')).toEqual({ kind: 'fixed', ms: 25 });
    expect(parseBudgetSpec('uniform:10:30')).toEqual({ kind: 'uniform', min: 10, max: 30 });
    expect(parseBudgetSpec('exponential:40')).toEqual({ kind: 'exponential', mean: 40 });
    expect(parseBudgetSpec('weibull:2')).toEqual({ kind: 'weibull', shape: 2 });
    expect(parseBudgetSpec('weibull:2:50')).toEqual({ kind: 'weibull', shape: 2, scale: 50 });
    expect(parseBudgetSpec(`file:${file}`)).toEqual({ kind: 'file', path: file });
    expect(parseBudgetSpec(file)).toEqual({ kind: 'file', path: file });
    // A path is taken as given; whether it can be read is the reader's question (FILE_NOT_FOUND).
    expect(parseBudgetSpec('budgets.txt')).toEqual({ kind: 'file', path: 'budgets.txt' });
  });

  it('refuses malformed specs and unknown names with BAD_ARGS, naming the syntax', () => {
    for (const spec of ['', 'gauss:1', 'fixed', 'weibull', 'uniform:5', 'uniform:9:3', 'fixed:-1', 'fixed:abc', 'weibull:0', 'weibull:x', 'weibull:1:2:3']) {
      expect(codeOf(() => parseBudgetSpec(spec)), spec).toBe('DYNASPLIT_ERR_BAD_ARGS');
    }
    expect(() => parseBudgetSpec('normal:1')).toThrow(/is not one of fixed:MS, uniform:MIN:MAX, exponential:MEAN, weibull:SHAPE:SCALE, weibull:SHAPE/);
  });

  it('tells distributions from files', () => {
    expect(['fixed:10', 'weibull:2', 'uniform:1:2', 'exponential:5'].map(isDistribution)).toEqual([true, true, true, true]);
    expect(['budgets.txt', './weibull.txt', 'file:x'].map(isDistribution)).toEqual([false, false, false]);
  });
});

describe('budget samplers', () => {
  it('fixed, uniform, exponential and weibull have the right range and mean', () => {
    expect(new Set(draw('fixed:25'))).toEqual(new Set([25]));
    const u = draw('uniform:10:30');
    expect(Math.min(...u)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...u)).toBeLessThan(30);
    expect(mean(u)).toBeCloseTo(20, 0);
    expect(mean(draw('exponential:40'))).toBeGreaterThan(36);
    expect(mean(draw('exponential:40'))).toBeLessThan(44);
    // Weibull(shape 1, scale s) is exponential with mean s
    expect(mean(draw('weibull:1:40'))).toBeGreaterThan(36);
    expect(mean(draw('weibull:1:40'))).toBeLessThan(44);
  });

  it('is reproducible by seed', () => {
    expect(draw('uniform:1:100', 10, { seed: 5 })).toEqual(draw('uniform:1:100', 10, { seed: 5 }));
    expect(draw('uniform:1:100', 10, { seed: 5 })).not.toEqual(draw('uniform:1:100', 10, { seed: 6 }));
  });

  it('scales weibull:SHAPE to the range given: at least the fastest, about 63% up to the slowest', () => {
    const range = { fastestMs: 100, slowestMs: 500 };
    for (const shape of ['0.8', '2', '5']) {
      const budgets = draw(`weibull:${shape}`, 20_000, { seed: 1, range });
      expect(Math.min(...budgets)).toBeGreaterThanOrEqual(100);
      // P(W < 1) = 1 - 1/e for every shape.
      const inside = budgets.filter((b) => b <= 500).length / budgets.length;
      expect(inside).toBeGreaterThan(0.61);
      expect(inside).toBeLessThan(0.65);
    }
    // A range of one latency is the latency itself: budget = fastest * (1 + W).
    expect(Math.min(...draw('weibull:2', 1000, { range: { fastestMs: 40, slowestMs: 40 } }))).toBeGreaterThanOrEqual(40);
  });

  it('refuses weibull:SHAPE without a range, saying a scale is needed', () => {
    expect(codeOf(() => budgetSampler('weibull:2'))).toBe('DYNASPLIT_ERR_BAD_ARGS');
    expect(() => budgetSampler('weibull:2')).toThrow(/needs a scale here: give weibull:SHAPE:SCALE/);
  });

  it('reads a file, named with file: or bare, in order and cycling', () => {
    const file = join(dir, 'ok.txt');
    writeFileSync(file, '# budgets\n10\n\n20\n');
    expect(draw(`file:${file}`, 5)).toEqual([10, 20, 10, 20, 10]);
    expect(draw(file, 3)).toEqual([10, 20, 10]);
    expect(readBudgets(file)).toEqual([10, 20]);
    expect(readBudgets('weibull:2')).toBe('weibull:2');
    writeFileSync(join(dir, 'bad.txt'), '10\nfast\n');
    expect(() => budgetSampler(`file:${join(dir, 'bad.txt')}`)).toThrow(/bad\.txt:2: 'fast'/);
    expect(codeOf(() => readBudgets(join(dir, 'missing.txt')))).toBe('DYNASPLIT_ERR_FILE_NOT_FOUND');
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
