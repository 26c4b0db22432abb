/**
 * Latency budgets for the simulation: a recorded list (a file, one budget per line, used in order) or
 * a seeded distribution. The distributions are sensor/budgets.ts's; `weibull:SHAPE` without a scale
 * is scaled to the pool's latency range (below).
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { budgetSampler, type BudgetSampler } from '../sensor/index.ts';
import type { PoolTable } from './table.ts';

/** Budgets in ms: a list used in order (cycled when there are more requests), or a sampler. */
export type Budgets = readonly number[] | BudgetSampler;

export const DISTRIBUTIONS = ['fixed:MS', 'uniform:MIN:MAX', 'exponential:MEAN', 'weibull:SHAPE', 'weibull:SHAPE:SCALE'] as const;
const KINDS = new Set(DISTRIBUTIONS.map((d) => d.split(':')[0]));

/** Whether `spec` names a distribution (else it is taken for a file). */
export function isDistribution(spec: string): boolean {
  return KINDS.has(spec.split(':')[0]) && spec.includes(':');
}

/**
 * A seeded sampler for `spec` (ms): fixed:MS, uniform:MIN:MAX, exponential:MEAN, weibull:SHAPE:SCALE
 * as in sensor/budgets.ts, and weibull:SHAPE scaled to the pool:
 *
 *   budget = fastest + (slowest - fastest) * W,  W ~ Weibull(SHAPE, 1)
 *
 * where fastest and slowest are the least and greatest median latency over the pool's configurations.
 * Every budget is then at least the fastest configuration's median; P(W < 1) = 1 - 1/e for any shape, so
 * about 63% fall inside the range and the rest above the slowest median. When all medians are equal, the range
 * is replaced by the fastest median itself (budget = fastest * (1 + W)).
 */
export function budgetDistribution(spec: string, table: PoolTable, seed: number): BudgetSampler {
  const [kind, ...args] = spec.split(':');
  if (!KINDS.has(kind)) throw bad(spec);
  try {
    if (kind === 'weibull' && args.length === 1) {
      const medians = table.aggregates.map((a) => a.latencyMs);
      const fastest = Math.min(...medians);
      const range = Math.max(...medians) - fastest || fastest;
      const w = budgetSampler(`weibull:${args[0]}:1`, seed);
      return () => fastest + range * w();
    }
    return budgetSampler(spec, seed);
  } catch {
    throw bad(spec);
  }
}

/** One budget (ms, > 0) per line; blank lines and `#` comments are skipped. `source` names the file in errors. */
export function parseBudgetFile(text: string, source = 'budgets'): number[] {
  const values: number[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.replace(/#.*/, '').trim();
    if (!trimmed) return;
    const value = Number(trimmed);
    if (!Number.isFinite(value) || value <= 0) {
      throw new DynasplitError(ErrorCodes.BAD_ARGS, `${source}:${i + 1}: '${trimmed}' is not a positive number of ms`, { details: { line: i + 1 } });
    }
    values.push(value);
  });
  if (values.length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, `${source} holds no budgets`);
  return values;
}

function bad(spec: string): DynasplitError {
  return new DynasplitError(ErrorCodes.BAD_ARGS,
    `budget distribution '${spec}' is not one of ${DISTRIBUTIONS.join(', ')} (positive ms; SHAPE > 0)`);
}
