/**
 * Workloads sent to the pipeline: latency budgets (one spec syntax for the sensor, the demo and the
 * evaluation) and seeded synthetic inputs. Library; no network.
 */
export { BUDGET_SPECS, budgetSampler, isDistribution, parseBudgetFile, parseBudgetSpec, readBudgetFile, readBudgets } from './budgets.ts';
export type { BudgetSampler, BudgetSpec, LatencyRange, SamplerOptions } from './budgets.ts';
export { SYNTHETIC_VARIANTS, syntheticFrames, syntheticInputs } from './inputs.ts';
export type { InputDesc, SyntheticFrame, SyntheticInput } from './inputs.ts';
