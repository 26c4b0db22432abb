import { describe, expect, it } from 'vitest';
import { simulate } from '../../../eval/index.ts';
import { aggregatePool, paretoFront, poolRow, searchPool, type PoolRow } from '../../../pareto/index.ts';
import { seededRandom } from '../../helpers/random.ts';

/**
 * A pool over real knobs: cloud-only (marked), edge-only and 4 split cuts x 2 codecs x 2 cloud modes,
 * 3 runs each. Later cuts cost the edge more and the link less; the GPU is fast and cheap per request.
 */
function knobPool(seed: number): PoolRow[] {
  const random = seededRandom(seed);
  const rows: PoolRow[] = [];
  const add = (cut: string, codec: string, mode: string, latency: number, energy: number, accuracy: number) => {
    const configuration = `${cut}/${codec}/${mode}`;
    for (let r = 0; r < 3; r++) {
      rows.push(poolRow({
        model: 'm', configuration, cut, codec, edgeFrequencyMhz: 1800, edgeThreads: cut === 'input' ? 0 : 4, edgeAccelerator: cut === 'input' ? '' : 'none',
        cloudAccelerator: mode, latencyMs: latency * (0.9 + 0.2 * random()), energyJ: energy * (0.9 + 0.2 * random()), accuracy,
        baseline: cut === 'input' && codec === 'fp32' && mode === 'cpu' ? 'cloud-only' : cut === 'output' ? 'edge-only' : '',
      }));
    }
  };
  for (const codec of ['fp32', 'int8']) for (const mode of ['cpu', 'gpu']) add('input', codec, mode, 300 + 100 * random(), mode === 'gpu' ? 2 : 9, codec === 'int8' ? 0.98 : 1);
  for (let c = 1; c <= 4; c++) {
    for (const codec of ['fp32', 'int8']) {
      for (const mode of ['cpu', 'gpu']) add(`cut${c}`, codec, mode, 100 * c + 200 * random(), c + (mode === 'gpu' ? 1 : 5) * random(), codec === 'int8' ? 0.97 + 0.02 * random() : 1);
    }
  }
  add('output', '', '', 900, 7, 1);
  return rows;
}

describe('simulate --front-from: schedule from a sample, replay outcomes from the pool', () => {
  const rows = knobPool(1);
  const strategies = ['cloud-only', 'static-min-energy', 'static-min-latency', 'dynasplit', 'dynasplit-safe', 'oracle'];

  it('schedules only configurations of the sample (those the pool has), while baselines and oracle keep the pool', () => {
    const { sample } = searchPool(rows, { budget: 6, strategy: 'random', seed: 4 });
    const sampled = new Set(sample.map((r) => r.configuration));
    expect(sampled.size).toBeGreaterThan(1);
    // A configuration the pool lacks, made to look best in every way: it must never run.
    const ghost = poolRow({ model: 'm', configuration: 'ghost', cut: 'cut2', codec: 'fp16', latencyMs: 1, energyJ: 0.001, accuracy: 1 });
    const report = simulate({ rows, scheduleFrom: [...sample, ghost], budgets: 'weibull:2', requests: 3000, strategies, seed: 3 });
    for (const name of ['static-min-energy', 'static-min-latency', 'dynasplit', 'dynasplit-safe']) {
      const chosen = Object.keys(report.strategies[name].configurations);
      expect(chosen.length).toBeGreaterThan(0);
      for (const c of chosen) expect(sampled.has(c), `${name} chose ${c}`).toBe(true);
    }
    expect(Object.keys(report.strategies['cloud-only'].configurations)).toEqual(['input/fp32/cpu']);
    const whole = simulate({ rows, budgets: 'weibull:2', requests: 3000, strategies, seed: 3 });
    expect(report.strategies.oracle).toEqual(whole.strategies.oracle);
  });

  it('takes the edge-only baseline from the pool when the sample has none', () => {
    const sample = rows.filter((r) => r.configuration.startsWith('cut2/'));
    const report = simulate({ rows, scheduleFrom: sample, budgets: 'weibull:2', requests: 500, strategies: ['edge-only', 'cloud-only', 'dynasplit'], seed: 2 });
    expect(Object.keys(report.strategies['edge-only'].configurations)).toEqual(['output//']);
    expect(Object.keys(report.strategies['cloud-only'].configurations)).toEqual(['input/fp32/cpu']);
  });

  it('with the whole pool as the sample, gives the same report as without', () => {
    const a = simulate({ rows, scheduleFrom: rows, budgets: 'weibull:2', requests: 2000, strategies, seed: 5 });
    const b = simulate({ rows, budgets: 'weibull:2', requests: 2000, strategies, seed: 5 });
    expect(a).toEqual(b);
  });

  it('costs energy when the sample misses the front (the figures are the pool\'s outcomes, not the sample\'s claims)', () => {
    const front = new Set(paretoFront(aggregatePool(rows)).map((a) => a.configuration.name));
    const offFront = rows.filter((r) => !front.has(r.configuration));
    const report = simulate({ rows, scheduleFrom: offFront, budgets: 'fixed:100000', requests: 500, strategies: ['dynasplit'], seed: 1 });
    const exact = simulate({ rows, budgets: 'fixed:100000', requests: 500, strategies: ['dynasplit'], seed: 1 });
    expect(report.strategies.dynasplit.meanEnergyJ).toBeGreaterThan(exact.strategies.dynasplit.meanEnergyJ);
  });

  it('refuses a sample with nothing the pool has, with a coded error', () => {
    const ghost = poolRow({ model: 'm', configuration: 'ghost', latencyMs: 1, energyJ: 1 });
    expect(() => simulate({ rows, scheduleFrom: [ghost], budgets: 'fixed:100', requests: 10, strategies: ['dynasplit'] }))
      .toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_ARGS' }));
  });
});
