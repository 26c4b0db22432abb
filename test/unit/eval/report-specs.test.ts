import { compile, type TopLevelSpec } from 'vega-lite';
import { describe, expect, it } from 'vitest';
import {
  configurationShares, reportPlots, SCATTER_POINTS, summarizeResults, thin, type PlotPlan, type RequestOutcome, type Results, type StrategyReport,
} from '../../../eval/index.ts';

function figures(over: Partial<StrategyReport>): StrategyReport {
  return {
    requests: 10, meanEnergyJ: 1, medianEnergyJ: 1, budgetMetRate: 0.9, meanLatencyMs: 100, p95LatencyMs: 150, meanAccuracy: 1,
    savingsVsCloudOnly: 0.1, configurations: { a: 10 }, ...over,
  };
}

const record = (budgetMs: number, latencyMs: number, energyJ: number): RequestOutcome =>
  ({ budgetMs, latencyMs, energyJ, accuracy: 1, configuration: 'a', met: latencyMs <= budgetMs });

const full: Results = {
  strategies: {
    'cloud-only': figures({ meanEnergyJ: 2, savingsVsCloudOnly: 0, configurations: { cloud: 10 } }),
    dynasplit: figures({ meanEnergyJ: 1.2, configurations: { a: 5, b: 3, c: 2 } }),
    oracle: figures({ meanEnergyJ: 1, configurations: { a: 6, b: 4 } }),
  },
  records: {
    'cloud-only': [record(100, 50, 2), record(40, 50, 2.1)],
    dynasplit: [record(100, 90, 1), record(40, 50, 1.4)],
    oracle: [record(100, 90, 1), record(40, 50, 1)],
  },
  meta: { source: 'testbed', sources: { latency: 'measured', energy: 'modelled' } },
};

const plans = (results: Results) => reportPlots(results, summarizeResults(results, { name: 'x', file: 'x.json' }));
const byId = (list: PlotPlan[]): Record<string, PlotPlan> => Object.fromEntries(list.map((p) => [p.id, p]));

/** Compiles with Vega-Lite and returns its warnings: a spec that compiles with none is well formed. */
function compileWarnings(spec: TopLevelSpec): string[] {
  const warnings: string[] = [];
  const logger = {
    level() { return logger; },
    error(...a: unknown[]) { warnings.push(a.join(' ')); return logger; },
    warn(...a: unknown[]) { warnings.push(a.join(' ')); return logger; },
    info() { return logger; },
    debug() { return logger; },
  };
  compile(spec, { logger });
  return warnings;
}

describe('reportPlots', () => {
  it('plans the six plots in order, each a spec that compiles without warnings', () => {
    const list = plans(full);
    expect(list.map((p) => p.id)).toEqual(['energy', 'latency-budget', 'budgets-met', 'configuration-mix', 'savings', 'oracle-gap']);
    for (const p of list) {
      expect(p.spec, p.id).toBeDefined();
      expect(compileWarnings(p.spec!), p.id).toEqual([]);
      expect(p.caption).toBeTruthy();
    }
  });

  it('labels latency and energy plots with their source, in the image and in the caption', () => {
    const p = byId(plans(full));
    expect(JSON.stringify(p.energy.spec)).toContain('"subtitle":"energy: testbed: modelled"');
    expect(p.energy.caption).toContain('Energy: testbed: modelled.');
    expect(JSON.stringify(p['latency-budget'].spec)).toContain('"subtitle":"latency: testbed: measured"');
    expect(p['budgets-met'].caption).toContain('Latency: testbed: measured.');
    expect(p.savings.caption).toContain('Energy: testbed: modelled.');
    // One line per source: one long line made Vega size the plot wider than its panels.
    expect(JSON.stringify(p['oracle-gap'].spec)).toContain('"subtitle":["energy: testbed: modelled","latency: testbed: measured"]');
  });

  it('plots energy as distributions from records, with the exact means, and as bars of means without records', () => {
    const withRecords = byId(plans(full)).energy.spec as unknown as { layer: { mark: { type: string }; data: { values: unknown[] } }[] };
    expect(withRecords.layer.map((l) => l.mark.type)).toEqual(['boxplot', 'point', 'text']);
    expect(withRecords.layer[0].data.values).toHaveLength(6);
    expect(withRecords.layer[1].data.values).toEqual([{ strategy: 'cloud-only', energyJ: 2 }, { strategy: 'dynasplit', energyJ: 1.2 }, { strategy: 'oracle', energyJ: 1 }]);
    const { records: _r, ...bare } = full;
    const without = byId(plans(bare)).energy.spec as unknown as { layer: { mark: { type: string } }[] };
    expect(without.layer.map((l) => l.mark.type)).toEqual(['bar', 'text']);
  });

  it('draws energy and energy over the oracle\'s on a log scale when one strategy spends 10x the others, linear otherwise', () => {
    const wide: Results = {
      ...full,
      strategies: { ...full.strategies, 'edge-only': figures({ meanEnergyJ: 20, savingsVsCloudOnly: -9, configurations: { edge: 10 } }) },
      records: { ...full.records, 'edge-only': [record(100, 900, 20), record(40, 900, 21)] },
    };
    const scaleOf = (plan: PlotPlan) => {
      const text = JSON.stringify(plan.spec);
      return { log: text.includes('"type":"log"'), caption: plan.caption! };
    };
    const narrow = byId(plans(full));
    expect(scaleOf(narrow.energy).log).toBe(false);
    expect(scaleOf(narrow['oracle-gap']).log).toBe(false);
    const p = byId(plans(wide));
    for (const plan of [p.energy, p['oracle-gap']]) {
      expect(scaleOf(plan).log, plan.id).toBe(true);
      expect(plan.caption).toMatch(/log/);
      expect(compileWarnings(plan.spec!), plan.id).toEqual([]);
    }
    // Only the ratio panel is logarithmic: budgets met are points, and can be negative.
    const gap = p['oracle-gap'].spec as unknown as { hconcat: { layer: { encoding: { y: { scale?: { type: string } }; y2?: { datum: number } } }[] }[] };
    expect(gap.hconcat.map((panel) => panel.layer[0].encoding.y.scale?.type ?? 'linear')).toEqual(['log', 'linear']);
    // Bars start at the oracle's mark: 1x and 0 points.
    expect(gap.hconcat.map((panel) => panel.layer[0].encoding.y2?.datum)).toEqual([1, 0]);
  });

  it('does not cut configuration names in the legend (they differ at their end)', () => {
    const spec = byId(plans(full))['configuration-mix'].spec as unknown as { config: { legend: { labelLimit: number } } };
    expect(spec.config.legend.labelLimit).toBe(0);
  });

  it('leaves out, with a sentence, what the input cannot show', () => {
    const { records: _r, ...bare } = full;
    const noOracle: Results = { strategies: { dynasplit: figures({ savingsVsCloudOnly: null }) } };
    const latency = byId(plans(bare))['latency-budget'];
    const p = byId(plans(noOracle));
    expect([latency.spec, p.savings.spec, p['oracle-gap'].spec]).toEqual([undefined, undefined, undefined]);
    expect(latency.omitted).toContain('No per-request records');
    expect(p.savings.omitted).toContain('No savings against cloud-only');
    expect(p['oracle-gap'].omitted).toContain('No `oracle` strategy');
  });

  it('marks each request as met or missed and draws at most SCATTER_POINTS per strategy', () => {
    const many = { ...full, records: { ...full.records, dynasplit: Array.from({ length: 3 * SCATTER_POINTS }, (_, i) => record(100, i % 2 ? 50 : 150, 1)) } };
    const spec = byId(plans(many))['latency-budget'].spec as unknown as { data: { values: { strategy: string; budget: string }[] } };
    const dynasplit = spec.data.values.filter((v) => v.strategy === 'dynasplit');
    expect(dynasplit).toHaveLength(SCATTER_POINTS);
    expect(spec.data.values.filter((v) => v.strategy === 'oracle').map((v) => v.budget)).toEqual(['met', 'missed']);
    expect(byId(plans(many))['latency-budget'].caption).toContain(`Up to ${SCATTER_POINTS} requests per strategy`);
  });
});

describe('configurationShares', () => {
  it('keeps the most used configurations, averaged over strategies, and sums the rest as other', () => {
    const shares = configurationShares(full, 2);
    // Average shares: cloud 1/3, a (0.5 + 0.6)/3, b (0.3 + 0.4)/3, c 0.2/3: the top two are a and cloud.
    expect(shares).toEqual([
      { strategy: 'cloud-only', configuration: 'cloud', share: 1 },
      { strategy: 'dynasplit', configuration: 'a', share: 0.5 },
      { strategy: 'dynasplit', configuration: 'other', share: 0.5 },
      { strategy: 'oracle', configuration: 'a', share: 0.6 },
      { strategy: 'oracle', configuration: 'other', share: 0.4 },
    ]);
  });
});

describe('thin', () => {
  it('keeps evenly spaced items, all of them when few', () => {
    expect(thin([1, 2, 3], 5)).toEqual([1, 2, 3]);
    expect(thin(Array.from({ length: 10 }, (_, i) => i), 5)).toEqual([0, 2, 4, 6, 8]);
  });
});
