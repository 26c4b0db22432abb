import { describe, expect, it } from 'vitest';
import { Result } from '../../../schemas/index.ts';
import { summarizeRun } from '../../../sensor/index.ts';

describe('summarizeRun', () => {
  const ok = (name: string, budget: number, extra: object = {}) => Result.create({ request_id: name, budget_ms: budget, configuration: { name: name.split('#')[0] }, ...extra });

  it('counts results, errors, budgets met, configurations and energy with its source', () => {
    const s = summarizeRun(5, [
      { result: ok('edge-only#1', 10, { energy: { joules: 2, source: 'modelled' } }), latencyMs: 5 },
      { result: ok('edge-only#2', 10, { energy: { joules: 4, source: 'modelled' } }), latencyMs: 15 },
      { result: ok('cloud-only#3', 10, { edge_fallback: true, energy: { joules: 6, source: 'measured' } }), latencyMs: 8 },
      { result: Result.create({ request_id: 'x', error: { code: 'DYNASPLIT_ERR_BAD_FRAME' } }), latencyMs: 1 },
    ]);
    expect(s).toMatchObject({ requests: 5, results: 3, errors: 1, unanswered: 1, edgeFallbacks: 1, budgetMetRate: 2 / 5 });
    expect(s.errorsByCode).toEqual({ DYNASPLIT_ERR_BAD_FRAME: 1 });
    expect(s.configurations).toEqual({ 'edge-only': 2, 'cloud-only': 1 });
    expect(s.energy).toEqual({ meanJ: 4, source: 'modelled (mixed)' });
    // Nearest rank over the three answered latencies 5, 8, 15: p50 is the 2nd, p95 and p99 the 3rd.
    expect(s.latencyMs).toEqual({ p50: 8, p95: 15, p99: 15, mean: 28 / 3 });
  });

  it('has no energy figure when no result was metered', () => {
    expect(summarizeRun(1, [{ result: ok('a#1', 10), latencyMs: 1 }]).energy).toBeNull();
  });

  it('has no latency figure when no request was answered with a prediction', () => {
    const s = summarizeRun(2, [{ result: Result.create({ request_id: 'x', error: { code: 'DYNASPLIT_ERR_BAD_FRAME' } }), latencyMs: 1 }]);
    expect(s.latencyMs).toBeNull();
    expect([s.errors, s.unanswered, s.budgetMetRate]).toEqual([1, 1, 0]);
  });
});
