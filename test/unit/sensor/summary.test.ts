import { describe, expect, it } from 'vitest';
import { Result } from '../../../schemas/index.ts';
import { percentile, summarize } from '../../../sensor/index.ts';

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
