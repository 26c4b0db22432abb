/**
 * What an evaluation report says about one results file: the headline figures per strategy, the gaps
 * to the oracle and cloud-only, DynaSplit's claims checked against them, and in words where each kind
 * of figure came from (docs/evaluation.md, "Report").
 *
 * Honesty rule (docs/hardware.md): every latency and energy figure says where it came from. A results
 * file says so in `meta.source` (simulated or testbed) and `meta.sources` (measured, emulated,
 * modelled, per figure); a file that says nothing is reported as of unstated origin.
 */
import type { Results, ResultsMeta, SourceSpec } from './results.ts';
import type { StrategyReport } from './stats.ts';

/** Thresholds of the claims DynaSplit's evaluation makes against the oracle and cloud-only. */
export const CLAIM_THRESHOLDS = {
  /** dynasplit's mean energy at most this multiple of the oracle's. */
  energyRatioAtMost: 1.05,
  /** dynasplit's budgets met at most 2 percentage points below the oracle's. */
  budgetMetPointsAtLeast: -2,
  /** dynasplit's mean accuracy at most 1 percentage point below cloud-only's. */
  accuracyPointsAtLeast: -1,
} as const;
/** Rounding slack in the comparisons: 0.97 - 0.99 is -0.020000000000000018, still "2 points". */
const SLACK = 1e-9;

export interface StrategySummary extends Omit<StrategyReport, 'configurations'> {
  /** Against the strategy named `oracle`: mean energy ratio, and budgets met minus the oracle's in percentage points. */
  gapToOracle: { energyRatio: number | null; budgetMetPoints: number | null } | null;
  /** Mean accuracy minus cloud-only's, percentage points. */
  accuracyVsCloudOnlyPoints: number | null;
}

export interface Claims {
  strategy: 'dynasplit';
  /** null when a figure behind it is missing (no cloud-only, an oracle with zero energy). */
  energyWithin5PctOfOracle: boolean | null;
  budgetsWithin2PointsOfOracle: boolean | null;
  accuracyWithin1PointOfCloudOnly: boolean | null;
  numbers: {
    energyRatio: number | null;
    budgetMetPoints: number | null;
    accuracyVsCloudOnlyPoints: number | null;
    dynasplit: Pick<StrategyReport, 'meanEnergyJ' | 'budgetMetRate' | 'meanAccuracy'>;
    oracle: Pick<StrategyReport, 'meanEnergyJ' | 'budgetMetRate'>;
    cloudOnly: Pick<StrategyReport, 'meanAccuracy'> | null;
  };
  thresholds: typeof CLAIM_THRESHOLDS;
}

/** Where each kind of figure came from, in words. */
export interface Provenance {
  latency: string;
  energy: string;
  accuracy: string;
}

export interface SectionSummary {
  name: string;
  file: string;
  meta: ResultsMeta | null;
  provenance: Provenance;
  /** Per-request records behind the distributions: per strategy, and whether they are a sample. */
  records: { perStrategy: Record<string, number>; sampled: boolean } | null;
  strategies: Record<string, StrategySummary>;
  claims: Claims | null;
}

/** a - b in percentage points; null when either is not known (NaN). */
const points = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) ? (a - b) * 100 : null);

/** The headline figures per strategy, the gaps to the oracle and cloud-only, and the claims. */
export function summarizeResults(results: Results, at: { name: string; file: string }): SectionSummary {
  const { strategies } = results;
  const oracle = strategies.oracle;
  const cloud = strategies['cloud-only'];
  const summaries = Object.fromEntries(Object.entries(strategies).map(([name, f]) => {
    const { configurations: _mix, ...figures } = f;
    const energyRatio = oracle && Number.isFinite(f.meanEnergyJ) && oracle.meanEnergyJ > 0 ? f.meanEnergyJ / oracle.meanEnergyJ : null;
    const summary: StrategySummary = {
      ...figures,
      gapToOracle: oracle ? { energyRatio, budgetMetPoints: points(f.budgetMetRate, oracle.budgetMetRate) } : null,
      accuracyVsCloudOnlyPoints: cloud ? points(f.meanAccuracy, cloud.meanAccuracy) : null,
    };
    return [name, summary];
  }));
  const records = results.records
    ? { perStrategy: Object.fromEntries(Object.entries(results.records).map(([n, r]) => [n, r.length])), sampled: results.recordsSampled ?? false }
    : null;
  return {
    name: at.name, file: at.file, meta: results.meta ?? null, provenance: provenance(results.meta), records,
    strategies: summaries, claims: claims(results.strategies, summaries),
  };
}

function claims(figures: Record<string, StrategyReport>, summaries: Record<string, StrategySummary>): Claims | null {
  const d = figures.dynasplit;
  const o = figures.oracle;
  if (!d || !o) return null;
  const c = figures['cloud-only'];
  const { energyRatio, budgetMetPoints } = summaries.dynasplit.gapToOracle!;
  const accuracyPoints = summaries.dynasplit.accuracyVsCloudOnlyPoints;
  const t = CLAIM_THRESHOLDS;
  const decide = (x: number | null, ok: (x: number) => boolean) => (x === null ? null : ok(x));
  return {
    strategy: 'dynasplit',
    energyWithin5PctOfOracle: decide(energyRatio, (r) => r <= t.energyRatioAtMost + SLACK),
    budgetsWithin2PointsOfOracle: decide(budgetMetPoints, (p) => p >= t.budgetMetPointsAtLeast - SLACK),
    accuracyWithin1PointOfCloudOnly: decide(accuracyPoints, (p) => p >= t.accuracyPointsAtLeast - SLACK),
    numbers: {
      energyRatio, budgetMetPoints, accuracyVsCloudOnlyPoints: accuracyPoints,
      dynasplit: { meanEnergyJ: d.meanEnergyJ, budgetMetRate: d.budgetMetRate, meanAccuracy: d.meanAccuracy },
      oracle: { meanEnergyJ: o.meanEnergyJ, budgetMetRate: o.budgetMetRate },
      cloudOnly: c ? { meanAccuracy: c.meanAccuracy } : null,
    },
    thresholds: CLAIM_THRESHOLDS,
  };
}

/** "40 measured and 10 modelled runs", "measured"; '' is a run that recorded no source. */
export function describeSources(spec: SourceSpec, unit = 'runs'): string {
  const word = (s: string) => (s === '' ? 'of unrecorded source' : s);
  if (typeof spec === 'string') return word(spec);
  const parts = Object.entries(spec).filter(([, n]) => n > 0).map(([s, n]) => `${n.toLocaleString('en-US')} ${word(s)}`);
  if (parts.length === 0) return `no ${unit}`;
  return `${parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : parts[0]} ${unit}`;
}

export function provenance(meta: ResultsMeta | undefined): Provenance {
  const one = (spec: SourceSpec | undefined): string => {
    if (meta?.source === 'simulated') {
      return spec === undefined ? 'simulated from a measurement pool whose runs state no source' : `simulated: drawn from a pool of ${describeSources(spec)}`;
    }
    if (meta?.source === 'testbed') return spec === undefined ? 'from the testbed, source not stated' : `testbed: ${describeSources(spec, 'requests')}`;
    return spec === undefined ? 'of unstated origin (the input gives no meta.source or meta.sources)' : describeSources(spec);
  };
  const s = meta?.sources;
  return { latency: one(s?.latency), energy: one(s?.energy), accuracy: one(s?.accuracy) };
}
