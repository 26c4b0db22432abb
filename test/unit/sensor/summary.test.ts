import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Result } from '../../../schemas/index.ts';
import { budgetSampler, percentile, summarize } from '../../../sensor/index.ts';

const draw = (spec: string, n = 4000, seed = 3) => {
  const next = budgetSampler(spec, seed);
  return Array.from({ length: n }, () => next());
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('budget distributions', () => {
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
    expect(draw('uniform:1:100', 10, 5)).toEqual(draw('uniform:1:100', 10, 5));
    expect(draw('uniform:1:100', 10, 5)).not.toEqual(draw('uniform:1:100', 10, 6));
  });

  it('reads a file in order, cycling, and reports bad lines with their number', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dynasplit-budgets-'));
    try {
      writeFileSync(join(dir, 'ok.txt'), '# budgets\n10\n\n20\n');
      expect(draw(`file:${join(dir, 'ok.txt')}`, 5)).toEqual([10, 20, 10, 20, 10]);
      writeFileSync(join(dir, 'bad.txt'), '10\nfast\n');
      expect(() => budgetSampler(`file:${join(dir, 'bad.txt')}`)).toThrow(/bad\.txt:2: 'fast'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects malformed specs with a coded error', () => {
    for (const spec of ['', 'gauss:1', 'uniform:5', 'uniform:9:3', 'fixed:-1', 'fixed:abc']) {
      expect(() => budgetSampler(spec)).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_ARGS' }));
    }
  });
});

describe('summarize', () => {
  const ok = (name: string, budget: number, extra: object = {}) => Result.create({ request_id: name, budget_ms: budget, configuration: { name: name.split('#')[0] }, ...extra });

  it('counts results, errors, budgets met, configurations and energy with its source', () => {
    const s = summarize(5, [
      { result: ok('edge-only#1', 10, { energy: { joules: 2, source: 'modelled' } }), latencyMs: 5 },
      { result: ok('edge-only#2', 10, { energy: { joules: 4, source: 'modelled' } }), latencyMs: 15 },
      { result: ok('cloud-only#3', 10, { edge_fallback: true, energy: { joules: 6, source: 'measured' } }), latencyMs: 8 },
      { result: Result.create({ request_id: 'x', error: { code: 'DYNASPLIT_ERR_BAD_FRAME' } }), latencyMs: 1 },
    ]);
    expect(s).toMatchObject({ requests: 5, results: 3, errors: 1, unanswered: 1, edgeFallbacks: 1, budgetMetRate: 2 / 5 });
    expect(s.errorsByCode).toEqual({ DYNASPLIT_ERR_BAD_FRAME: 1 });
    expect(s.configurations).toEqual({ 'edge-only': 2, 'cloud-only': 1 });
    expect(s.energy).toEqual({ meanJ: 4, source: 'modelled (mixed)' });
    expect(s.latencyMs.p50).toBe(8);
  });

  it('has no energy figure when no result was metered', () => {
    expect(summarize(1, [{ result: ok('a#1', 10), latencyMs: 1 }]).energy).toBeNull();
  });

  it('nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(xs, 0.5), percentile(xs, 0.95), percentile(xs, 0.99), percentile([], 0.5)]).toEqual([50, 95, 99, 0]);
  });
});
