/**
 * Workloads sent to the pipeline: latency budgets (one spec syntax for the sensor, the demo and the
 * evaluation) and seeded synthetic inputs. Library; no network.
 */
export { BUDGET_SPECS, budgetSampler, isDistribution, parseBudgetFile, parseBudgetSpec, readBudgetFile, readBudgets } from './budgets.ts';
export type { BudgetSampler, BudgetSpec, LatencyRange, SamplerOptions } from './budgets.ts';
export { SYNTHETIC_VARIANTS, syntheticInputs } from './inputs.ts';
export type { SyntheticInput } from './inputs.ts';
