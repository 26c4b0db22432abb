import { describe, expect, it } from 'vitest';
import { describeSources, parseResults, provenance, reportMarkdown, summarize, type Results, type StrategyFigures } from '../../../eval/index.ts';
import { isDynasplitError } from '../../../common/index.ts';

function figures(over: Partial<StrategyFigures>): StrategyFigures {
  return {
    requests: 100, meanEnergyJ: 1, medianEnergyJ: 1, budgetMetRate: 1, meanLatencyMs: 100, p95LatencyMs: 150, meanAccuracy: 1,
    savingsVsCloudOnly: null, configurations: { c: 100 }, ...over,
  };
}

/** dynasplit spends 1.06x the oracle, meets 2.5 points fewer budgets, loses 0.5 accuracy points to cloud-only. */
const handMade: Results = {
  strategies: {
    'cloud-only': figures({ meanEnergyJ: 2, budgetMetRate: 0.9, meanAccuracy: 0.99, savingsVsCloudOnly: 0 }),
    dynasplit: figures({ meanEnergyJ: 1.06, budgetMetRate: 0.95, meanAccuracy: 0.985, savingsVsCloudOnly: 0.47 }),
    oracle: figures({ meanEnergyJ: 1, budgetMetRate: 0.975, meanAccuracy: 0.97, savingsVsCloudOnly: 0.5 }),
  },
};

function thrown(fn: () => unknown): { code: string; message: string; details: Record<string, unknown> } {
  try {
    fn();
  } catch (err) {
    if (isDynasplitError(err)) return { code: err.code, message: err.message, details: err.details };
    throw err;
  }
  throw new Error('did not throw');
}

describe('parseResults', () => {
  const good = JSON.stringify(handMade);

  it('reads a results file, NaN figures written as null staying null', () => {
    const r = parseResults(JSON.stringify({ strategies: { a: { ...figures({}), meanLatencyMs: null } } }), 'r.json');
    expect(r.strategies.a.meanLatencyMs).toBeNull();
    expect(parseResults(good, 'r.json').strategies.dynasplit.meanEnergyJ).toBe(1.06);
  });

  it('names the file and the field at the first fault', () => {
    expect(thrown(() => parseResults('{ nope', 'bad.json'))).toMatchObject({ code: 'DYNASPLIT_ERR_BAD_ARGS', message: expect.stringMatching(/^bad\.json: not JSON/) });
    expect(thrown(() => parseResults('[]', 'x.json')).message).toMatch(/^x\.json: the file must be a JSON object/);
    expect(thrown(() => parseResults('{"strategies":{}}', 'x.json')).message).toBe('x.json: strategies holds no strategy');
    const badFigure = { strategies: { a: { ...figures({}), meanEnergyJ: 'lots' } } };
    expect(thrown(() => parseResults(JSON.stringify(badFigure), 'x.json'))).toMatchObject({
      message: 'x.json: strategies.a.meanEnergyJ must be a number or null, got "lots"', details: { file: 'x.json', field: 'strategies.a.meanEnergyJ' },
    });
    const badRequests = { strategies: { a: { ...figures({}), requests: -1 } } };
    expect(thrown(() => parseResults(JSON.stringify(badRequests), 'x.json')).message).toMatch(/strategies\.a\.requests must be a non-negative integer, got -1/);
  });

  it('checks records and meta', () => {
    const base = { strategies: { a: figures({}) } };
    const record = { budgetMs: 100, latencyMs: 90, energyJ: 1, accuracy: null, configuration: 'c', met: true };
    const ok = parseResults(JSON.stringify({ ...base, records: { a: [record, { ...record, latencyMs: 120, met: undefined }] }, recordsSampled: true }), 'x.json');
    expect(ok.records!.a.map((r) => r.met)).toEqual([true, false]);
    expect(ok.recordsSampled).toBe(true);
    expect(thrown(() => parseResults(JSON.stringify({ ...base, records: { b: [] } }), 'x.json')).message).toMatch(/records\.b names no strategy in strategies \(a\)/);
    expect(thrown(() => parseResults(JSON.stringify({ ...base, records: { a: [{ ...record, energyJ: 'x' }] } }), 'x.json')).message)
      .toMatch(/records\.a\[0\]\.energyJ must be a number/);
    expect(thrown(() => parseResults(JSON.stringify({ ...base, meta: { source: 'guessed' } }), 'x.json')).message).toMatch(/meta\.source must be 'simulated' or 'testbed'/);
    expect(thrown(() => parseResults(JSON.stringify({ ...base, meta: { sources: { energy: 3 } } }), 'x.json')).message).toMatch(/meta\.sources\.energy must be a source/);
  });
});

describe('summarize', () => {
  it('gives each strategy its gap to the oracle and its accuracy against cloud-only', () => {
    const s = summarize(handMade, { name: 'm', file: 'm.json' }).strategies;
    expect(s.dynasplit.gapToOracle!.energyRatio).toBeCloseTo(1.06, 12);
    expect(s.dynasplit.gapToOracle!.budgetMetPoints).toBeCloseTo(-2.5, 12);
    expect(s.dynasplit.accuracyVsCloudOnlyPoints).toBeCloseTo(-0.5, 12);
    expect(s.oracle.gapToOracle).toEqual({ energyRatio: 1, budgetMetPoints: 0 });
    expect(s['cloud-only'].gapToOracle!.budgetMetPoints).toBeCloseTo(-7.5, 12);
    expect(s.dynasplit).not.toHaveProperty('configurations');
  });

  it('decides the claims from the numbers behind them', () => {
    const { claims } = summarize(handMade, { name: 'm', file: 'm.json' });
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
    const { claims } = summarize(edge, { name: 'm', file: 'm.json' });
    expect([claims!.energyWithin5PctOfOracle, claims!.budgetsWithin2PointsOfOracle, claims!.accuracyWithin1PointOfCloudOnly]).toEqual([true, true, true]);
    const over: Results = { strategies: { ...edge.strategies, dynasplit: figures({ meanEnergyJ: 1.0501, budgetMetRate: 0.9699, meanAccuracy: 0.9799 }) } };
    const worse = summarize(over, { name: 'm', file: 'm.json' }).claims!;
    expect([worse.energyWithin5PctOfOracle, worse.budgetsWithin2PointsOfOracle, worse.accuracyWithin1PointOfCloudOnly]).toEqual([false, false, false]);
  });

  it('gives no claims without dynasplit and the oracle, and leaves accuracy undecided without cloud-only', () => {
    const { oracle: _o, ...noOracle } = handMade.strategies;
    expect(summarize({ strategies: noOracle }, { name: 'm', file: 'm.json' }).claims).toBeNull();
    expect(summarize({ strategies: noOracle }, { name: 'm', file: 'm.json' }).strategies.dynasplit.gapToOracle).toBeNull();
    const { 'cloud-only': _c, ...noCloud } = handMade.strategies;
    const claims = summarize({ strategies: noCloud }, { name: 'm', file: 'm.json' }).claims!;
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

describe('reportMarkdown', () => {
  const meta = { source: 'simulated' as const, pool: 'pool.csv', model: 'vgg16', seed: 3, budgets: 'weibull:2', requests: 100, sources: { latency: { emulated: 5 }, energy: { modelled: 5 } } };
  const summary = summarize({ ...handMade, meta }, { name: 'vgg16', file: 'vgg16.json' });
  const text = reportMarkdown('Results', [{ summary, figures: [
    { title: 'Energy per inference', file: 'vgg16-energy.svg', caption: 'Energy caption.' },
    { title: 'Latency against budget', omitted: 'No per-request records.' },
  ] }]);

  it('has a section per input with its settings, its sources, a table and the claims', () => {
    expect(text).toMatch(/^# Results\n/);
    expect(text).toContain('## vgg16\n\nInput: `vgg16.json`. Simulated: 100 requests, model vgg16, pool `pool.csv`, budgets `weibull:2`, seed 3.');
    expect(text).toContain('Latency: simulated: drawn from a pool of 5 emulated runs. Energy: simulated: drawn from a pool of 5 modelled runs.');
    expect(text).toMatch(/^\| dynasplit \| 100 \| 1\.0600 \| 1\.0000 \| 95\.0% \| 100\.0 \| 150\.0 \| 0\.9850 \| 47\.0% \| 1\.060 \| -2\.5 \| -0\.50 \|$/m);
    expect(text).toContain('- Energy within 5% of the oracle: **no**: dynasplit\'s mean energy is 1.060× the oracle\'s');
    expect(text).toContain('- Budgets met within 2 points of the oracle: **no**: 95.0% against 97.5% (-2.5 points');
    expect(text).toContain('- Accuracy within 1 point of cloud-only: **yes**');
    expect(text).toContain('The input holds no per-request records');
  });

  it('shows rendered plots with captions and says why the others are left out', () => {
    expect(text).toContain('### Energy per inference\n\n![Energy per inference](vgg16-energy.svg)\n\nEnergy caption.');
    expect(text).toContain('### Latency against budget\n\nNo per-request records.');
  });

  it('says every energy and latency figure\'s source: in the section, above the table and beside each claim', () => {
    const sources = text.split('\n').filter((l) => /J per request|^- (Energy|Budgets)/.test(l));
    expect(sources.length).toBe(3);
    for (const line of sources) expect(line).toMatch(/simulated: drawn from a pool of 5 (modelled|emulated) runs/);
  });
});
