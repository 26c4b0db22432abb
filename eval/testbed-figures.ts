/**
 * The testbed's figures, from what it recorded: the budgets every strategy gets, what each strategy
 * sends (a forced configuration, or a policy the edge decides with), the figures of live runs in the
 * shape `eval simulate --json` gives (stats.ts does the arithmetic), the oracle over the profiled pool,
 * and DynaSplit's claims checked on them. Pure: the command runs the pipeline. docs/evaluation.md.
 */
import { DynasplitError, ErrorCodes, median } from '../common/index.ts';
import { frontToPolicy, paretoFront, poolRow, type Aggregate, type PoolRow } from '../pareto/index.ts';
import type { Configuration, DecisionRule } from '../policy/index.ts';
import type { Answer } from '../model/index.ts';
import type { PolicyProperties, ResultProperties } from '../schemas/index.ts';
import { budgetDistribution } from './budgets.ts';
import { simulate } from './simulate.ts';
import { rowOrder, Tally, type RequestOutcome, type StrategyReport } from './stats.ts';
import { createStrategy, type DrawContext, type StrategyName } from './strategies.ts';
import { poolTable, type PoolTable, type TableOptions } from './table.ts';

/** One request as a strategy served it, the simulation's record (accuracy: top-1 agreement with the unsplit fp32 model on the same input). */
export type TestbedRecord = RequestOutcome;

/**
 * A successful Result as a record: accuracy is 1 when its top-1 class (`answerClass`: model/ resultClass,
 * whatever the card) is the unsplit fp32 model's answer on the same input.
 */
export function recordOf(result: ResultProperties, budgetMs: number, referenceClass: Answer, answerClass: Answer): TestbedRecord {
  const latencyMs = result.latency?.end_to_end_ms ?? 0;
  return {
    budgetMs, latencyMs, energyJ: result.energy?.joules ?? 0, accuracy: answerClass === referenceClass ? 1 : 0,
    configuration: result.configuration?.name ?? '', met: latencyMs <= budgetMs,
  };
}

/** How a strategy is run: a configuration forced on the edge, a policy the edge decides with, or the oracle over the pool. */
export type StrategyPlan =
  | { name: string; kind: 'forced'; configuration: Configuration }
  | { name: string; kind: 'policy'; rule: DecisionRule; policy: PolicyProperties; expected: (budgetMs: number) => string }
  | { name: string; kind: 'oracle' };

const RULES: Partial<Record<StrategyName, DecisionRule>> = { dynasplit: 'energy-first', 'dynasplit-safe': 'energy-first-p95' };

/** The oracle is the only strategy that looks at draws; the others get a context that refuses to draw. */
const NO_DRAWS = { run: () => { throw new Error('only the oracle draws runs'); } } as unknown as DrawContext;

/**
 * What each strategy sends, from the profiled pool: the static ones and the baselines choose their
 * configuration once (strategies.ts); dynasplit and dynasplit-safe get the pool's exact front as a
 * policy with their rule (DynaSplit's offline phase), which the edge node applies and decides with per
 * request (the online phase). `expected` is the pool's own decision for a budget, for comparison.
 */
export function strategyPlans(names: readonly StrategyName[], table: PoolTable, meta: { edgeClass: string; source: string }): StrategyPlan[] {
  return names.map((name): StrategyPlan => {
    if (name === 'oracle') return { name, kind: 'oracle' };
    const strategy = createStrategy(name, table);
    const rule = RULES[name];
    if (rule) {
      const policy = frontToPolicy(paretoFront(table.aggregates), { model: table.model, edgeClass: meta.edgeClass, version: 0, rule, source: meta.source });
      return { name, kind: 'policy', rule, policy, expected: (budgetMs) => strategy.choose({ budgetMs, index: 0 }, NO_DRAWS) };
    }
    const chosen = strategy.choose({ budgetMs: 0, index: 0 }, NO_DRAWS);
    return { name, kind: 'forced', configuration: { ...table.aggregates.find((a) => a.configuration.name === chosen)!.configuration } };
  });
}

/** `requests` budgets, ms: a list in order (cycled), or a distribution seeded with `seed` (budgets.ts), the same for every strategy. */
export function budgetSequence(budgets: string | readonly number[], table: PoolTable, seed: number, requests: number): number[] {
  if (typeof budgets === 'string') {
    const next = budgetDistribution(budgets, table, seed);
    return Array.from({ length: requests }, () => next());
  }
  if (budgets.length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'testbed: the budget list is empty');
  return Array.from({ length: requests }, (_, i) => budgets[i % budgets.length]);
}

/**
 * A live strategy's figures: its records taken as a pool of one run each, tallied as the simulation
 * tallies drawn runs (stats.ts), so every figure means what it means there. `baselineEnergyJ`: the
 * mean energy of the live cloud-only runs of the same budgets, or null. `failed`: requests sent that
 * got no usable result; they count in `requests` and as budgets missed (a strategy whose requests
 * expire must not look better than one that answers late), and in no other figure.
 */
export function liveFigures(model: string, records: readonly TestbedRecord[], baselineEnergyJ: number | null, failed = 0): StrategyReport {
  if (records.length === 0) {
    return {
      requests: failed, meanEnergyJ: NaN, medianEnergyJ: NaN, budgetMetRate: failed > 0 ? 0 : NaN, meanLatencyMs: NaN, p95LatencyMs: NaN, meanAccuracy: NaN,
      savingsVsCloudOnly: null, configurations: {},
    };
  }
  const rows = records.map((r) => poolRow({ model, configuration: r.configuration, latencyMs: r.latencyMs, energyJ: r.energyJ, accuracy: r.accuracy }));
  const table = poolTable(rows, { model });
  const ids = new Map(table.names.map((name, c) => [name, c]));
  const tally = new Tally(table);
  records.forEach((r, row) => {
    tally.choose(ids.get(r.configuration)!, row);
    tally.finish(r.latencyMs, r.budgetMs);
  });
  const report = tally.report({ energy: rowOrder(table, table.energyJ), latency: rowOrder(table, table.latencyMs) }, baselineEnergyJ);
  if (failed === 0) return report;
  return { ...report, requests: report.requests + failed, budgetMetRate: (report.budgetMetRate * report.requests) / (report.requests + failed) };
}

/**
 * The oracle with hindsight over the profiled pool: for request i with budget b_i, the run drawn for
 * every configuration (per (seed, i, configuration), table.ts) and the least energy among those that met
 * b_i — exactly `eval simulate`'s oracle on this pool and these budgets. Its figures are recorded runs
 * from the pool, not runs of this request; savingsVsCloudOnly is against the cloud-only draws.
 */
export function oracleFigures(
  rows: readonly PoolRow[], budgets: readonly number[], seed: number, model: string, floor: Pick<TableOptions, 'accuracyFloor' | 'accuracyOf'> = {},
): OracleFigures {
  const out: OracleFigures = { report: undefined as unknown as StrategyReport, records: [], runs: [] };
  const report = simulate({
    rows, budgets, requests: budgets.length, strategies: ['oracle'], seed, model, ...floor,
    onRequest: ({ budgetMs, choices, rows: drawn, ctx }) => {
      const { table } = ctx;
      const row = drawn[0];
      const latencyMs = table.latencyMs[row];
      out.records.push({ budgetMs, latencyMs, energyJ: table.energyJ[row], accuracy: table.accuracy[row], configuration: table.names[choices[0]], met: latencyMs <= budgetMs });
      out.runs.push(rows[row]);
    },
  });
  out.report = report.strategies.oracle;
  return out;
}

export interface OracleFigures {
  report: StrategyReport;
  records: TestbedRecord[];
  /** The pool row behind each record (its sources). */
  runs: PoolRow[];
}

/** Thresholds of DynaSplit's claims (the same as `eval report`'s). */
export const CLAIM_THRESHOLDS = { energyRatioAtMost: 1.05, budgetMetPointsAtLeast: -2, accuracyPointsAtLeast: -1 } as const;
/** Rounding slack: 0.97 - 0.99 is -0.020000000000000018, still 2 points. */
const SLACK = 1e-9;

export interface TestbedClaims {
  /** dynasplit's mean energy / the oracle's, at most 1.05; null when either is missing. */
  energyRatio: number | null;
  energyWithin5PctOfOracle: boolean | null;
  /** (dynasplit's budgets met - the oracle's) x 100, at least -2. */
  budgetMetPoints: number | null;
  budgetsWithin2PointsOfOracle: boolean | null;
  /** (dynasplit's mean accuracy - cloud-only's) x 100, at least -1. */
  accuracyVsCloudOnlyPoints: number | null;
  accuracyWithin1PointOfCloudOnly: boolean | null;
  thresholds: typeof CLAIM_THRESHOLDS;
}

export function testbedClaims(strategies: Readonly<Record<string, StrategyReport>>): TestbedClaims {
  const d = strategies.dynasplit;
  const o = strategies.oracle;
  const c = strategies['cloud-only'];
  const number = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x : null);
  const energyRatio = d && o && o.meanEnergyJ > 0 ? number(d.meanEnergyJ / o.meanEnergyJ) : null;
  const budgetMetPoints = d && o ? number((d.budgetMetRate - o.budgetMetRate) * 100) : null;
  const accuracyVsCloudOnlyPoints = d && c ? number((d.meanAccuracy - c.meanAccuracy) * 100) : null;
  const t = CLAIM_THRESHOLDS;
  const check = (x: number | null, ok: (x: number) => boolean) => (x === null ? null : ok(x));
  return {
    energyRatio,
    energyWithin5PctOfOracle: check(energyRatio, (r) => r <= t.energyRatioAtMost + SLACK),
    budgetMetPoints,
    budgetsWithin2PointsOfOracle: check(budgetMetPoints, (p) => p >= t.budgetMetPointsAtLeast - SLACK),
    accuracyVsCloudOnlyPoints,
    accuracyWithin1PointOfCloudOnly: check(accuracyVsCloudOnlyPoints, (p) => p >= t.accuracyPointsAtLeast - SLACK),
    thresholds: t,
  };
}

/**
 * A configuration's accuracy for the floor, from every run sharing its cut and codec: on an emulating
 * testbed the frequency, threads, accelerator mode and cloud mode do not change the arithmetic (the
 * host runs the same fp32 model), so those runs measure the same thing on more inputs than the
 * configuration's own few runs (3 runs can all miss the one input in 8 that a codec flips).
 */
export function accuracyByCutAndCodec(rows: readonly PoolRow[], model: string): (a: Aggregate) => number {
  const sums = new Map<string, { agree: number; runs: number }>();
  const key = (cut: string, codec: string) => `${cut}\u0000${codec}`;
  for (const r of rows) {
    if (r.model !== model || !Number.isFinite(r.accuracy)) continue;
    const s = sums.get(key(r.cut, r.codec)) ?? { agree: 0, runs: 0 };
    s.agree += r.accuracy;
    s.runs++;
    sums.set(key(r.cut, r.codec), s);
  }
  return (a) => {
    const s = sums.get(key(a.configuration.cut, a.configuration.codec ?? ''));
    return s ? s.agree / s.runs : a.accuracy;
  };
}

/** How a configuration's live runs (phase 2) compare with its profiled runs (phase 1, the oracle's pool). */
export interface Drift {
  liveRuns: number;
  poolRuns: number;
  /** live mean energy / pool mean energy */
  energyRatio: number;
  /** live median latency / pool median latency */
  latencyRatio: number;
}

/**
 * Per configuration that ran live, its live figures over its pool figures; and, for a strategy, the
 * ratio of its live energy to what the pool says its configurations cost (the oracle's yardstick).
 * The claims compare live runs with an oracle over the pool: a ratio above 1 here is the host
 * drifting between the phases, not a worse decision.
 */
export function driftOf(live: Readonly<Record<string, readonly TestbedRecord[]>>, rows: readonly PoolRow[], model: string):
  { configurations: Record<string, Drift>; strategies: Record<string, number | null> } {
  const table = poolTable(rows, { model });
  const pool = new Map(table.aggregates.map((a) => [a.configuration.name, a]));
  const byConfiguration = new Map<string, TestbedRecord[]>();
  for (const records of Object.values(live)) {
    for (const r of records) byConfiguration.set(r.configuration, [...(byConfiguration.get(r.configuration) ?? []), r]);
  }
  const configurations: Record<string, Drift> = {};
  for (const [name, records] of byConfiguration) {
    const a = pool.get(name);
    if (!a || !(a.energyJ > 0) || !(a.latencyMs > 0)) continue;
    const latencies = records.map((r) => r.latencyMs).sort((x, y) => x - y);
    configurations[name] = {
      liveRuns: records.length, poolRuns: a.runs, energyRatio: records.reduce((t, r) => t + r.energyJ, 0) / records.length / a.energyJ,
      latencyRatio: median(latencies) / a.latencyMs,
    };
  }
  const strategies: Record<string, number | null> = {};
  for (const [strategy, records] of Object.entries(live)) {
    const expected = records.reduce((t, r) => t + (pool.get(r.configuration)?.energyJ ?? Number.NaN), 0);
    const ratio = records.reduce((t, r) => t + r.energyJ, 0) / expected;
    strategies[strategy] = Number.isFinite(ratio) ? ratio : null;
  }
  return { configurations, strategies };
}

/** One word when every value agrees ('emulated'), else runs per value ({ emulated: 40, modelled: 10 }); '' = not recorded. */
export function sourceSpec(values: readonly string[]): string | Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  const keys = Object.keys(counts);
  return keys.length === 1 ? keys[0] : counts;
}

/** ms the live strategies' requests should take, from the pool's median latency of what each would run. */
export function liveCostMs(plans: readonly StrategyPlan[], table: PoolTable, budgets: readonly number[]): number {
  const median = new Map(table.aggregates.map((a) => [a.configuration.name, a.latencyMs]));
  let total = 0;
  for (const plan of plans) {
    if (plan.kind === 'forced') total += budgets.length * median.get(plan.configuration.name)!;
    else if (plan.kind === 'policy') for (const b of budgets) total += median.get(plan.expected(b))!;
  }
  return total;
}

/** How a strategy ran, and what went wrong: a results file's `testbed` section. */
export interface StrategyRun {
  run: 'forced' | 'policy' | 'oracle';
  /** Forced: the configuration every frame carried. */
  configuration?: string;
  /** Policy: what was published (entries in policy order). */
  policy?: { version: number; rule: string; entries: string[] };
  /** Results the edge decided itself (no configuration in the frame). */
  unforced: number;
  /** Requests whose tail the edge ran itself (the cloud missed the deadline or failed). */
  fallbacks: number;
  /** Requests with no usable result, by code: not in `records`; in the figures only as budgets missed (liveFigures). */
  failures: Record<string, number>;
  /** Policy: results whose configuration is the pool's own decision for the budget (the edge decides on what is left of it). */
  matchesPoolDecision?: number;
}

/** A live strategy's run: its records and the sources its results gave. */
export interface LiveRun { records: TestbedRecord[]; run: StrategyRun; latencySources: string[]; energySources: string[] }

/** A results file: `eval simulate --json`'s `strategies`, plus `records`, `meta`, the `testbed` section and the `claims`. */
export interface TestbedResults {
  strategies: Record<string, StrategyReport>;
  records: Record<string, TestbedRecord[]>;
  meta: Record<string, unknown> & { source: 'testbed'; sources: { latency: SourceSpec; energy: SourceSpec; accuracy: SourceSpec } };
  testbed: Record<string, StrategyRun>;
  claims: TestbedClaims;
  /** Live runs against the pool's runs of the same configurations (driftOf). */
  drift: ReturnType<typeof driftOf>;
}

type SourceSpec = ReturnType<typeof sourceSpec>;

/**
 * The results of a model, strategies in plan order: the live ones from their records (savings against
 * the live cloud-only runs of the same budgets, null without them), the oracle over the pool.
 */
export function testbedResults(
  plans: readonly StrategyPlan[], live: Readonly<Record<string, LiveRun>>,
  pool: { rows: readonly PoolRow[]; budgets: readonly number[]; accuracyOf?: TableOptions['accuracyOf'] },
  meta: { model: string; seed: number; accuracyFloor?: number | null } & Record<string, unknown>,
): TestbedResults {
  const cloudOnly = live['cloud-only']?.records ?? [];
  const baseline = cloudOnly.length > 0 ? cloudOnly.reduce((s, r) => s + r.energyJ, 0) / cloudOnly.length : null;
  const strategies: Record<string, StrategyReport> = {};
  const records: Record<string, TestbedRecord[]> = {};
  const testbed: Record<string, StrategyRun> = {};
  const latency: string[] = [];
  const energy: string[] = [];
  for (const plan of plans) {
    if (plan.kind === 'oracle') {
      const oracle = oracleFigures(pool.rows, pool.budgets, meta.seed, meta.model, { accuracyFloor: meta.accuracyFloor ?? undefined, accuracyOf: pool.accuracyOf });
      strategies.oracle = oracle.report;
      records.oracle = oracle.records;
      testbed.oracle = { run: 'oracle', unforced: 0, fallbacks: 0, failures: {} };
      latency.push(...oracle.runs.map((r) => r.latencySource));
      energy.push(...oracle.runs.map((r) => r.energySource));
    } else if (live[plan.name]) {
      const run = live[plan.name];
      strategies[plan.name] = liveFigures(meta.model, run.records, baseline, Object.values(run.run.failures).reduce((a, b) => a + b, 0));
      records[plan.name] = run.records;
      testbed[plan.name] = run.run;
      latency.push(...run.latencySources);
      energy.push(...run.energySources);
    }
  }
  const liveRecords = Object.fromEntries(Object.entries(live).map(([name, run]) => [name, run.records]));
  return {
    strategies, records, testbed, claims: testbedClaims(strategies), drift: driftOf(liveRecords, pool.rows, meta.model),
    meta: {
      source: 'testbed', ...meta,
      sources: { latency: sourceSpec(latency), energy: sourceSpec(energy), accuracy: 'measured' },
      oracle: 'drawn from the recorded pool (per seed, request and configuration, as eval simulate draws); every other strategy ran live',
      savingsVsCloudOnly: 'live strategies: against the live cloud-only runs of the same budgets; oracle: against the cloud-only runs drawn from the pool',
    },
  };
}
