/**
 * The strategies the simulation compares, behind one interface: given a request's latency budget (and,
 * for the oracle only, the runs drawn for it), which configuration runs it. All are built from one
 * prepared pool (table.ts): the static ones choose once, DynaSplit's rule decides per request over
 * the pool's Pareto front, and the oracle chooses with hindsight.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { frontToPolicy, paretoFront, type Aggregate } from '../pareto/index.ts';
import { CLOUD_ONLY_CUT, compilePolicy, decide, EDGE_ONLY_CUT, type CompiledPolicy, type DecisionRule } from '../policy/index.ts';
import type { PoolTable } from './table.ts';

export interface SimRequest {
  /** The request's latency budget, ms. */
  budgetMs: number;
  /** Its position in the trace, from 0. */
  index: number;
}

/** What a strategy may look at besides the budget: only the oracle uses it. */
export interface DrawContext {
  readonly table: PoolTable;
  /** The pool row drawn for configuration `c` (an index into table.names) for the current request. */
  run(c: number): number;
}

export interface Strategy {
  readonly name: string;
  /** The name of the configuration that runs the request (one of table.names). */
  choose(request: SimRequest, ctx: DrawContext): string;
}

export const STRATEGY_NAMES = [
  'cloud-only', 'edge-only', 'static-min-energy', 'static-min-latency', 'dynasplit', 'dynasplit-safe', 'oracle',
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** The strategies named, in the order given; BAD_ARGS for an unknown name, listing the valid ones. */
/** `tableOf`: the table a strategy chooses from (by default `table` for all). */
export function createStrategies(names: readonly string[], table: PoolTable, tableOf: (name: StrategyName) => PoolTable = () => table): Strategy[] {
  const unknown = names.filter((n) => !(STRATEGY_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `unknown strateg${unknown.length > 1 ? 'ies' : 'y'} ${unknown.map((n) => `'${n}'`).join(', ')}; ` +
      `strategies: ${STRATEGY_NAMES.join(', ')}`, { details: { unknown, valid: STRATEGY_NAMES } });
  }
  if (names.length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, `no strategies given; strategies: ${STRATEGY_NAMES.join(', ')}`);
  return names.map((name) => createStrategy(name as StrategyName, tableOf(name as StrategyName)));
}

export function createStrategy(name: StrategyName, table: PoolTable): Strategy {
  const fixed = (a: Aggregate): Strategy => {
    const chosen = a.configuration.name;
    return { name, choose: () => chosen };
  };
  switch (name) {
    case 'cloud-only': {
      const a = cloudOnlyBaseline(table.aggregates);
      if (!a) throw missing('cloud-only', "no configuration marked baseline 'cloud-only' (nor one with cut 'input')");
      return fixed(a);
    }
    case 'edge-only': {
      const a = edgeOnlyBaseline(table.aggregates);
      if (!a) throw missing('edge-only', `no configuration marked baseline 'edge-only' (nor one with cut '${EDGE_ONLY_CUT}')`);
      return fixed(a);
    }
    case 'static-min-energy':
      return fixed(best(table.aggregates, (a, b) => a.energyJ - b.energyJ || b.accuracy - a.accuracy || a.latencyMs - b.latencyMs)!);
    case 'static-min-latency':
      return fixed(best(table.aggregates, (a, b) => a.latencyMs - b.latencyMs || a.energyJ - b.energyJ || b.accuracy - a.accuracy)!);
    case 'dynasplit':
      return ruleStrategy(name, frontPolicy(table, 'energy-first'));
    case 'dynasplit-safe':
      return ruleStrategy(name, frontPolicy(table, 'energy-first-p95'));
    case 'oracle':
      return oracle(table);
  }
}

/**
 * The cloud-only baseline: the configuration marked 'cloud-only' (the fastest by median latency when
 * several are, the cheapest of those equally fast), else — for the strategy, not for savings — the
 * fastest with cut 'input'.
 */
export function cloudOnlyBaseline(aggregates: readonly Aggregate[], markedOnly = false): Aggregate | undefined {
  const marked = aggregates.filter((a) => a.baseline === 'cloud-only');
  if (marked.length > 0 || markedOnly) return fastest(marked);
  return fastest(aggregates.filter((a) => a.configuration.cut === CLOUD_ONLY_CUT));
}

/** The edge-only baseline: the one marked 'edge-only' (fastest of several), else the fastest setting with cut 'output'. */
export function edgeOnlyBaseline(aggregates: readonly Aggregate[]): Aggregate | undefined {
  const marked = aggregates.filter((a) => a.baseline === 'edge-only');
  return fastest(marked.length > 0 ? marked : aggregates.filter((a) => a.configuration.cut === EDGE_ONLY_CUT));
}

/**
 * Median latencies within this fraction of the fastest's count as equally fast. An emulated device
 * faster than the host cannot be emulated by waiting: a GPU and a CPU cloud both answer in the host's
 * time, 1–3 ms apart by chance, and the baseline (and every saving measured against it) must not
 * follow that chance.
 */
const SAME_LATENCY = 0.05;

/** The fastest by median latency; of several equally fast (SAME_LATENCY), the cheapest. */
function fastest(list: readonly Aggregate[]): Aggregate | undefined {
  const quickest = best(list, (a, b) => a.latencyMs - b.latencyMs || a.energyJ - b.energyJ);
  if (!quickest) return undefined;
  // Relative to the median's size, so that one at 0 ms or just below (an emulated device faster than the
  // host, clocks a fraction of a millisecond apart) still ties with itself.
  const tied = list.filter((a) => a.latencyMs <= quickest.latencyMs + Math.abs(quickest.latencyMs) * SAME_LATENCY);
  return best(tied, (a, b) => a.energyJ - b.energyJ || a.latencyMs - b.latencyMs);
}

/** The first of the least by `order` (ties keep pool order). */
function best(list: readonly Aggregate[], order: (a: Aggregate, b: Aggregate) => number): Aggregate | undefined {
  let winner: Aggregate | undefined;
  for (const a of list) if (!winner || order(a, winner) < 0) winner = a;
  return winner;
}

function missing(name: string, why: string): DynasplitError {
  return new DynasplitError(ErrorCodes.BAD_ARGS, `strategy '${name}' needs a baseline the pool lacks: ${why}`);
}

/** DynaSplit's offline phase over the pool: the exact Pareto front of the aggregates, as a compiled policy. */
export function frontPolicy(table: PoolTable, rule: DecisionRule): CompiledPolicy {
  const front = paretoFront(table.aggregates);
  return compilePolicy(frontToPolicy(front, { model: table.model, edgeClass: '', version: 1, rule, source: '' }));
}

/** DynaSplit online phase: the first front entry (energy ascending) whose expected latency fits, else the fastest (policy/decide). */
function ruleStrategy(name: StrategyName, policy: CompiledPolicy): Strategy {
  return { name, choose: (request) => decide(policy, request.budgetMs)!.configuration.name };
}

/**
 * With hindsight: among the runs drawn for this request (one per configuration), the one with the least
 * energy that met the budget (ties: more accurate, then faster, then pool order); when none met it, the
 * fastest drawn run. Accuracy is not a constraint: the oracle bounds energy and budgets met.
 */
function oracle(table: PoolTable): Strategy {
  const { names, latencyMs, energyJ, accuracy } = table;
  const n = names.length;
  return {
    name: 'oracle',
    choose(request, ctx) {
      let met = -1;
      let quickest = -1;
      let metRow = 0;
      let quickRow = 0;
      for (let c = 0; c < n; c++) {
        const r = ctx.run(c);
        const l = latencyMs[r];
        if (l <= request.budgetMs) {
          const e = energyJ[r];
          const m = energyJ[metRow];
          if (met < 0 || e < m || (e === m && (accuracy[r] > accuracy[metRow] || (accuracy[r] === accuracy[metRow] && l < latencyMs[metRow])))) {
            met = c;
            metRow = r;
          }
        } else if (met < 0 && (quickest < 0 || l < latencyMs[quickRow])) {
          quickest = c;
          quickRow = r;
        }
      }
      return names[met >= 0 ? met : quickest];
    },
  };
}
