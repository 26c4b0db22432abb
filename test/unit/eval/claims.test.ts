/** Figures, gaps, claims and provenance of a results file (eval/claims.ts). */
import { describe, expect, it } from 'vitest';
import { describeSources, provenance, summarizeResults, type Results } from '../../../eval/index.ts';
import { figures, handMade } from './report-fixture.ts';

describe('summarizeResults', () => {
  it('gives each strategy its gap to the oracle and its accuracy against cloud-only', () => {
    const s = summarizeResults(handMade, { name: 'm', file: 'm.json' }).strategies;
    expect(s.dynasplit.gapToOracle!.energyRatio).toBeCloseTo(1.06, 12);
    expect(s.dynasplit.gapToOracle!.budgetMetPoints).toBeCloseTo(-2.5, 12);
    expect(s.dynasplit.accuracyVsCloudOnlyPoints).toBeCloseTo(-0.5, 12);
    expect(s.oracle.gapToOracle).toEqual({ energyRatio: 1, budgetMetPoints: 0 });
    expect(s['cloud-only'].gapToOracle!.budgetMetPoints).toBeCloseTo(-7.5, 12);
    expect(s.dynasplit).not.toHaveProperty('configurations');
  });

  it('leaves a gap unknown (null) where a figure behind it is not known (NaN)', () => {
    const s = summarizeResults({ strategies: { ...handMade.strategies, dynasplit: figures({ meanEnergyJ: NaN, budgetMetRate: NaN }) } }, { name: 'm', file: 'm.json' });
    expect(s.strategies.dynasplit.gapToOracle).toEqual({ energyRatio: null, budgetMetPoints: null });
    expect([s.claims!.energyWithin5PctOfOracle, s.claims!.budgetsWithin2PointsOfOracle]).toEqual([null, null]);
  });

  it('decides the claims from the numbers behind them', () => {
    const { claims } = summarizeResults(handMade, { name: 'm', file: 'm.json' });
    expect(claims).toMatchObject({
      strategy: 'dynasplit', energyWithin5PctOfOracle: false, budgetsWithin2PointsOfOracle: false, accuracyWithin1PointOfCloudOnly: true,
      numbers: { dynasplit: { meanEnergyJ: 1.06, budgetMetRate: 0.95, meanAccuracy: 0.985 }, oracle: { meanEnergyJ: 1, budgetMetRate: 0.975 }, cloudOnly: { meanAccuracy: 0.99 } },
      thresholds: { energyRatioAtMost: 1.05, budgetMetPointsAtLeast: -2, accuracyPointsAtLeast: -1 },
    });
  });

  it('counts a claim exactly at its threshold as met, despite rounding', () => {
    // (0.97 - 0.99) * 100 = -2.0000000000000018 and (0.98 - 0.99) * 100 = -1.0000000000000009 in floating point.
    const edge: Results = { strategies: {
      'cloud-only': figures({ meanAccuracy: 0.99 }),
      dynasplit: figures({ meanEnergyJ: 1.05, budgetMetRate: 0.97, meanAccuracy: 0.98 }),
      oracle: figures({ meanEnergyJ: 1, budgetMetRate: 0.99 }),
    } };
    const { claims } = summarizeResults(edge, { name: 'm', file: 'm.json' });
    expect([claims!.energyWithin5PctOfOracle, claims!.budgetsWithin2PointsOfOracle, claims!.accuracyWithin1PointOfCloudOnly]).toEqual([true, true, true]);
    const over: Results = { strategies: { ...edge.strategies, dynasplit: figures({ meanEnergyJ: 1.0501, budgetMetRate: 0.9699, meanAccuracy: 0.9799 }) } };
    const worse = summarizeResults(over, { name: 'm', file: 'm.json' }).claims!;
    expect([worse.energyWithin5PctOfOracle, worse.budgetsWithin2PointsOfOracle, worse.accuracyWithin1PointOfCloudOnly]).toEqual([false, false, false]);
  });

  it('gives no claims without dynasplit and the oracle, and leaves accuracy undecided without cloud-only', () => {
    const { oracle: _o, ...noOracle } = handMade.strategies;
    expect(summarizeResults({ strategies: noOracle }, { name: 'm', file: 'm.json' }).claims).toBeNull();
    expect(summarizeResults({ strategies: noOracle }, { name: 'm', file: 'm.json' }).strategies.dynasplit.gapToOracle).toBeNull();
    const { 'cloud-only': _c, ...noCloud } = handMade.strategies;
    const claims = summarizeResults({ strategies: noCloud }, { name: 'm', file: 'm.json' }).claims!;
    expect(claims.accuracyWithin1PointOfCloudOnly).toBeNull();
    expect(claims.numbers.cloudOnly).toBeNull();
    expect(claims.energyWithin5PctOfOracle).toBe(false);
  });
});

describe('provenance', () => {
  it('says where every figure came from', () => {
    expect(describeSources({ measured: 40, modelled: 10 })).toBe('40 measured and 10 modelled runs');
    expect(describeSources({ measured: 1200, emulated: 3, '': 2 })).toBe('1,200 measured, 3 emulated and 2 of unrecorded source runs');
    expect(describeSources('measured')).toBe('measured');
    const simulated = provenance({ source: 'simulated', sources: { latency: { measured: 96 }, energy: { measured: 32, modelled: 64 } } });
    expect(simulated).toEqual({
      latency: 'simulated: drawn from a pool of 96 measured runs',
      energy: 'simulated: drawn from a pool of 32 measured and 64 modelled runs',
      accuracy: 'simulated from a measurement pool whose runs state no source',
    });
    expect(provenance({ source: 'testbed', sources: { energy: 'measured' } }).energy).toBe('testbed: measured');
    expect(provenance(undefined).latency).toMatch(/^of unstated origin/);
  });
});
