/**
 * Latency budgets for the simulation and the testbed: a recorded list (used in order, cycled) or a
 * spec of workload/ (one syntax everywhere), whose `weibull:SHAPE` is scaled here to the pool's
 * latency range: from the least to the greatest median latency over the pool's configurations.
 */
import { budgetSampler, type BudgetSampler, type LatencyRange } from '../workload/index.ts';
import type { PoolTable } from './table.ts';

/** Budgets in ms: a list used in order (cycled when there are more requests), or a sampler. */
export type Budgets = readonly number[] | BudgetSampler;

/** A seeded sampler for `spec` (ms, workload/ budgetSampler) with the pool's range for `weibull:SHAPE`. */
export function budgetDistribution(spec: string, table: PoolTable, seed: number): BudgetSampler {
  return budgetSampler(spec, { seed, range: latencyRange(table) });
}

/** Fastest and slowest median latency (ms) over the pool's configurations. */
export function latencyRange(table: PoolTable): LatencyRange {
  const medians = table.aggregates.map((a) => a.latencyMs);
  return { fastestMs: Math.min(...medians), slowestMs: Math.max(...medians) };
}
