/**
 * Trace-driven simulation (DynaSplit, May et al. 2024, evaluation: strategies replayed over recorded
 * measurements). For each request: take its budget; every strategy chooses a configuration; the run it
 * gets is a recorded run of that configuration drawn uniformly from the pool. Draws are per (request,
 * configuration), counter-based (table.ts), so every strategy — the oracle too — sees the same run of
 * the same configuration, and only the configurations a strategy asks about are drawn.
 */
import { totalmem } from 'node:os';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { type PoolRow } from '../pareto/index.ts';
import { budgetDistribution, type Budgets } from './budgets.ts';
import { Arrivals, checkQueueOptions, QueueSystem, type QueueOptions } from './queueing.ts';
import { outcome, RequestSample, rowOrder, Tally, type RequestOutcome, type StrategyReport } from './stats.ts';
import { cloudOnlyBaseline, createStrategies, type DrawContext, type SimRequest } from './strategies.ts';
import { drawIndex, drawKey, poolTable, requestKey, type PoolTable, type TableOptions } from './table.ts';

/** Most requests between two progress steps. */
const STEP_MAX = 10_000;

export interface SimulateOptions {
  rows: readonly PoolRow[];
  /** ms: a list used in order (cycled), a sampler, or a distribution spec (budgets.ts; seeded with `seed`). */
  budgets: Budgets | string;
  /** Default: the list's length; required with a sampler or a distribution. */
  requests?: number;
  /** Strategy names (strategies.ts STRATEGY_NAMES), reported in this order. */
  strategies: readonly string[];
  /** Seeds the draws, the distribution and the arrivals; default 1. */
  seed?: number;
  /** Model whose runs to use; needed when the pool holds several. */
  model?: string;
  /** Share of the latency on the edge for split runs that record no parts (queueing); default 0.5. */
  edgeShare?: number;
  /** Leave out configurations less accurate than this (TableOptions.accuracyFloor). */
  accuracyFloor?: number;
  accuracyOf?: TableOptions['accuracyOf'];
  /**
   * A sample of the pool (`optimizer search --out`): the strategies that schedule from measurements
   * (static-*, dynasplit*) use only its configurations and their figures, while every outcome is still
   * drawn from `rows`; the baselines and the oracle keep the whole pool. Configurations of the sample
   * that the pool lacks are left out: never scheduled. Default: schedule from the whole pool.
   */
  scheduleFrom?: readonly PoolRow[];
  /** K edge devices sharing M cloud workers (queueing.ts); without it, requests do not interact. */
  queueing?: QueueOptions;
  /**
   * Keep up to this many requests' outcomes per strategy (`records`): the same requests for every
   * strategy, a seeded uniform sample when there are more. Plain simulation only: with queueing a
   * latency is known in completion order, not request order. Default 0: none.
   */
  records?: number;
  /** Called about every 1% of the requests (at most every STEP_MAX). */
  onProgress?: (done: number, total: number) => void;
  /** Called per request after every strategy chose (`rows[s]`: the pool row strategy s got); the arrays are reused. */
  onRequest?: (record: RequestRecord) => void;
}

export interface RequestRecord {
  index: number;
  budgetMs: number;
  /** Per strategy: configuration id (index into table.names) and the pool row drawn. */
  choices: Int32Array;
  rows: Int32Array;
  /** The request's draws, for checks: ctx.run(c) is the row configuration c drew. */
  ctx: DrawContext;
}

export interface SimulationReport {
  strategies: Record<string, StrategyReport>;
  /** With `records`: per strategy, the kept requests in request order. */
  records?: Record<string, RequestOutcome[]>;
  /** With `records`: whether they are a sample (fewer than the requests). */
  recordsSampled?: boolean;
}

export function simulate(options: SimulateOptions): SimulationReport {
  const steps = simulationSteps(options);
  for (let step = steps.next(); ; step = steps.next()) {
    if (step.done) return step.value;
    options.onProgress?.(step.value.done, step.value.total);
  }
}

/** How far a simulation is: requests done of all. */
export interface SimulationStep { done: number; total: number }

/**
 * The simulation as steps of about 1% of the requests each (at most STEP_MAX): yields after each step, returns the
 * report. `simulate` runs it through; a caller that must stay responsive (the CLI, to a Ctrl-C)
 * returns to its event loop between steps and may stop early, with no report.
 */
export function* simulationSteps(options: SimulateOptions): Generator<SimulationStep, SimulationReport, void> {
  const seed = options.seed ?? 1;
  const { table, strategies, next, requests, tallies, systems, arrivals, sample } = setup(options, seed);
  const { members, latencyMs, energyJ } = table;
  const ids = new Map(table.names.map((name, c) => [name, c]));
  const key = drawKey(seed);
  let rk = 0;
  const ctx: DrawContext = { table, run: (c) => members[c][drawIndex(rk, c, members[c].length)] };
  const baseline = cloudOnlyBaseline(table.aggregates, true);
  const base = baseline ? ids.get(baseline.configuration.name)! : -1;
  let baselineEnergy = 0;
  const record: RequestRecord = { index: 0, budgetMs: 0, choices: new Int32Array(strategies.length), rows: new Int32Array(strategies.length), ctx };
  // A step is 1% of the run, at most STEP_MAX requests: a caller between steps sees a Ctrl-C within about 0.1 s.
  const step = Math.max(1, Math.min(STEP_MAX, Math.floor(requests / 100)));

  for (let i = 0; i < requests; i++) {
    const budgetMs = next(i);
    rk = requestKey(key, i);
    const request: SimRequest = { budgetMs, index: i };
    if (base >= 0) baselineEnergy += energyJ[ctx.run(base)];
    arrivals?.next();
    for (let s = 0; s < strategies.length; s++) {
      const name = strategies[s].choose(request, ctx);
      const c = ids.get(name);
      if (c === undefined) throw new DynasplitError(ErrorCodes.BAD_ARGS, `strategy '${strategies[s].name}' chose '${name}', not in the pool`);
      const row = ctx.run(c);
      tallies[s].choose(c, row);
      if (systems) systems[s].submit(arrivals!.timeMs, arrivals!.device, row, budgetMs);
      else tallies[s].finish(latencyMs[row], budgetMs);
      record.choices[s] = c;
      record.rows[s] = row;
    }
    if (sample?.take()) strategies.forEach((_, s) => sample.add(s, outcome(table, record.choices[s], record.rows[s], budgetMs)));
    if (options.onRequest) {
      record.index = i;
      record.budgetMs = budgetMs;
      options.onRequest(record);
    }
    if ((i + 1) % step === 0) yield { done: i + 1, total: requests };
  }
  systems?.forEach((q) => q.flush());

  const order = { energy: rowOrder(table, energyJ), latency: rowOrder(table, latencyMs) };
  const baselineMean = base >= 0 && requests > 0 ? baselineEnergy / requests : null;
  const report: SimulationReport = { strategies: Object.fromEntries(strategies.map((s, k) => [s.name, tallies[k].report(order, baselineMean)])) };
  return sample ? { ...report, ...sample.result(strategies.map((s) => s.name)) } : report;
}

function setup(options: SimulateOptions, seed: number) {
  const table = poolTable(options.rows, { model: options.model, edgeShare: options.edgeShare, accuracyFloor: options.accuracyFloor, accuracyOf: options.accuracyOf });
  const scheduled = scheduleTable(options, table);
  // The baselines are known without measuring a sample, and the oracle's hindsight is the whole pool's.
  const strategies = createStrategies(options.strategies, scheduled, (name) => (WHOLE_POOL.has(name) ? table : scheduled));
  const dupes = options.strategies.filter((s, i) => options.strategies.indexOf(s) !== i);
  if (dupes.length > 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, `strategy listed twice: ${dupes.join(', ')}`);
  const { next, requests } = budgetStream(options, table, seed);
  const queueing = options.queueing ? checkQueueOptions(options.queueing) : undefined;
  if (queueing) checkQueueingMemory(requests, strategies.length);
  const tallies = strategies.map(() => new Tally(table, queueing ? requests : 0));
  // With queueing a request's latency is known when the cloud has served it: the system reports it to the tally.
  const systems = queueing ? tallies.map((t) => new QueueSystem(table, queueing, (...a) => t.finish(...a))) : undefined;
  const arrivals = queueing ? new Arrivals(queueing, seed) : undefined;
  return { table, strategies, next, requests, tallies, systems, arrivals, sample: recordSample(options, requests, strategies.length, seed) };
}

/**
 * With queueing each request's latency is kept, 8 bytes per request and strategy (stats.ts): refused
 * at once where that would take more than half this machine's memory, rather than after minutes.
 */
function checkQueueingMemory(requests: number, strategies: number): void {
  const bytes = 8 * requests * strategies;
  const limit = totalmem() / 2;
  if (bytes > limit) {
    const gb = (b: number) => (b / 2 ** 30).toFixed(1);
    throw new DynasplitError(ErrorCodes.BAD_ARGS,
      `simulate: queueing keeps every request's latency, ${gb(bytes)} GiB for ${requests} requests and ${strategies} strategies; this machine has ${gb(2 * limit)} GiB: use fewer requests or strategies`);
  }
}

const WHOLE_POOL = new Set(['cloud-only', 'edge-only', 'oracle']);

/** What the strategies schedule from: the pool, or the sample's configurations that the pool has. */
function scheduleTable(options: SimulateOptions, table: PoolTable): PoolTable {
  if (!options.scheduleFrom) return table;
  const known = new Set(table.names);
  const rows = options.scheduleFrom.filter((r) => r.model === table.model && known.has(r.configuration));
  if (rows.length === 0) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `the sample holds no configuration of model '${table.model}' that the pool has`, { details: { model: table.model } });
  }
  return poolTable(rows, { model: table.model, edgeShare: options.edgeShare, accuracyFloor: options.accuracyFloor, accuracyOf: options.accuracyOf });
}

function recordSample(options: SimulateOptions, requests: number, strategies: number, seed: number): RequestSample | undefined {
  const wanted = options.records ?? 0;
  if (!Number.isInteger(wanted) || wanted < 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, `simulate: records must be a non-negative integer, got ${wanted}`);
  if (wanted === 0) return undefined;
  if (options.queueing) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, 'simulate: per-request records are not available with queueing (latencies complete out of request order)');
  }
  return new RequestSample(requests, wanted, strategies, seed);
}

function budgetStream(options: SimulateOptions, table: PoolTable, seed: number): { next: (i: number) => number; requests: number } {
  const { budgets } = options;
  const requests = options.requests ?? (Array.isArray(budgets) ? budgets.length : undefined);
  if (requests === undefined) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'simulate: the number of requests is needed with a budget distribution');
  if (!Number.isInteger(requests) || requests < 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, `simulate: requests must be a non-negative integer, got ${requests}`);
  if (typeof budgets === 'string') {
    const sampler = budgetDistribution(budgets, table, seed);
    return { next: () => sampler(), requests };
  }
  if (typeof budgets === 'function') return { next: () => budgets(), requests };
  const list = budgets as readonly number[];
  if (list.length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'simulate: the budget list is empty');
  return { next: (i) => list[i % list.length], requests };
}
