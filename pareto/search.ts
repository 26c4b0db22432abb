/**
 * Search on a measuring budget: which configurations to measure when measuring all of them costs
 * too much (DynaSplit, May et al. 2024: NSGA-III over ~20% of the space, one testbed run each). The
 * search asks an oracle to measure one configuration at a time; the oracle answers its objectives, or
 * undefined when it could not be measured (a failed run, a configuration a recorded pool lacks). Every
 * answer, failed or not, spends one unit of budget, as a run on a real testbed does; a configuration
 * is never measured twice.
 *
 * Strategies are generators: they yield the next configuration (a mixed-radix index of the space)
 * and read what was measured from the shared record. One driver (searchSteps) runs any of them, so the
 * same search runs synchronously over a pool (search) and asynchronously against live nodes
 * (searchAsync). A strategy that stops before the budget is spent (NSGA-II once it finds nothing
 * new) leaves the rest to a seeded uniform draw of the configurations not yet measured.
 * Deterministic per seed. docs/optimizer.md, "Search on a measuring budget".
 */
import { DynasplitError, ErrorCodes, tensorRng } from '../common/index.ts';
import { paretoIndices, type Objectives } from './front.ts';
import { modelProposer } from './search-model.ts';
import { nsgaProposer } from './search-nsga.ts';
import { inSpace, type Outcome, type Proposer, type SearchContext } from './search-types.ts';
import type { Space } from './space.ts';

export const SEARCH_STRATEGIES = ['nsga2', 'nsga3', 'random', 'model'] as const;
export type SearchStrategy = (typeof SEARCH_STRATEGIES)[number];

export interface SearchProgress {
  /** Configurations measured so far, unmeasurable ones included (the budget spent). */
  spent: number;
  budget: number;
  unmeasurable: number;
  /** Size of the front of what was measured. */
  front: number;
}

export interface SearchOptions {
  /** Configurations to measure, at most (capped at the space's size); see budgetCount. */
  budget: number;
  strategy: SearchStrategy;
  /** Default 0. */
  seed?: number;
  /** Called after each measurement. */
  onProgress?: (progress: SearchProgress) => void;
}

export interface Trial {
  /** Mixed-radix index of the configuration (space.ts). */
  index: number;
  outcome: Outcome;
}

export interface SearchResult {
  strategy: SearchStrategy;
  seed: number;
  budget: number;
  /** In the order measured. */
  trials: Trial[];
  unmeasurable: number;
  /** Mixed-radix indices of the front of the measured configurations, in policy order. */
  front: number[];
}

// A proposer that yields this many measured configurations in a row is treated as finished.
const MAX_REPEATS = 1000;

/**
 * A budget as given by a user: a fraction of the space (`0.2`, `20%`, `1.0`: with a decimal point or a
 * percent sign) or a number of configurations (`50`). BAD_ARGS for anything else.
 */
export function budgetCount(spec: string, size: number): number {
  const text = spec.trim();
  const percent = text.endsWith('%');
  const value = Number(percent ? text.slice(0, -1) : text);
  const fraction = percent || text.includes('.');
  if (text === '' || !Number.isFinite(value) || value <= 0 || (fraction && (percent ? value > 100 : value > 1)) || (!fraction && !Number.isInteger(value))) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `budget must be a fraction of the space (0 < F <= 1, e.g. 0.2 or 20%) or a number of configurations, got '${spec}'`);
  }
  if (!fraction) return Math.min(value, size);
  return Math.min(size, Math.max(1, Math.round((percent ? value / 100 : value) * size)));
}

/** The search as a generator: yields the configurations to measure and takes their outcomes. */
export function* searchSteps(space: Space, options: SearchOptions): Generator<number, SearchResult, Outcome> {
  const seed = options.seed ?? 0;
  if (!(SEARCH_STRATEGIES as readonly string[]).includes(options.strategy)) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `unknown search strategy '${options.strategy}'; strategies: ${SEARCH_STRATEGIES.join(', ')}`);
  }
  if (!Number.isInteger(options.budget) || options.budget < 0) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `search budget must be a non-negative integer, got ${options.budget}`);
  }
  const budget = Math.min(options.budget, space.size);
  const ctx: SearchContext = { space, budget, seed, rng: tensorRng(seed, `pareto/search/${options.strategy}`), tried: new Map() };
  const trials: Trial[] = [];
  let unmeasurable = 0;
  const record = function* (index: number): Generator<number, void, Outcome> {
    const outcome = yield index;
    ctx.tried.set(index, outcome);
    trials.push({ index, outcome });
    if (!outcome) unmeasurable++;
    options.onProgress?.({ spent: trials.length, budget, unmeasurable, front: frontOf(trials).length });
  };
  const proposer = createProposer(options.strategy, ctx);
  for (let repeats = 0, step = proposer.next(); trials.length < budget && !step.done && repeats < MAX_REPEATS; step = proposer.next()) {
    checkIndex(space, step.value);
    if (ctx.tried.has(step.value)) { repeats++; continue; }
    repeats = 0;
    yield* record(step.value);
  }
  if (trials.length < budget) for (const index of shuffled(space, ctx)) {
    if (trials.length >= budget) break;
    if (!ctx.tried.has(index)) yield* record(index);
  }
  return { strategy: options.strategy, seed, budget, trials, unmeasurable, front: frontOf(trials) };
}

/** Runs the search with a measuring function that answers at once (a recorded pool, a model). */
export function search(space: Space, measure: (index: number) => Outcome, options: SearchOptions): SearchResult {
  const steps = searchSteps(space, options);
  for (let step = steps.next(); ; ) {
    if (step.done) return step.value;
    step = steps.next(measure(step.value));
  }
}

/**
 * Runs the search against live nodes: `measure` runs one configuration and resolves to its objectives,
 * or undefined when the run failed (it is not retried: the budget is spent, as the search's record says).
 */
export async function searchAsync(space: Space, measure: (index: number) => Promise<Outcome>, options: SearchOptions): Promise<SearchResult> {
  const steps = searchSteps(space, options);
  for (let step = steps.next(); ; ) {
    if (step.done) return step.value;
    step = steps.next(await measure(step.value));
  }
}

function createProposer(strategy: SearchStrategy, ctx: SearchContext): Proposer {
  switch (strategy) {
    case 'random': return shuffled(ctx.space, ctx);
    case 'nsga2': return nsgaProposer(ctx, 'crowding');
    case 'nsga3': return nsgaProposer(ctx, 'reference-points');
    case 'model': return modelProposer(ctx);
  }
}

/** Every configuration of the space once, in a seeded uniform order (Fisher-Yates, drawn lazily). */
function* shuffled(space: Space, ctx: SearchContext): Proposer {
  const order = Uint32Array.from(space.indices);
  for (let i = 0; i < order.length; i++) {
    const j = i + Math.floor(ctx.rng.nextFloat() * (order.length - i));
    [order[i], order[j]] = [order[j], order[i]];
    yield order[i];
  }
}

function frontOf(trials: readonly Trial[]): number[] {
  const valid = trials.filter((t): t is { index: number; outcome: Objectives } => t.outcome !== undefined);
  const at = paretoIndices(
    Float64Array.from(valid, (t) => t.outcome.latencyMs),
    Float64Array.from(valid, (t) => t.outcome.energyJ),
    Float64Array.from(valid, (t) => t.outcome.accuracy),
  );
  return Array.from(at, (k) => valid[k].index);
}

function checkIndex(space: Space, index: number): void {
  // A strategy's bug, not the user's input.
  if (!inSpace(space, index)) throw new Error(`search: strategy proposed ${index}, not a configuration of the space`);
}
