/**
 * The optimizer component: the live optimizer that reads windowed metrics, re-optimizes over the
 * configuration space (pareto/) and publishes retained policies, and the profiler that measures
 * configurations on running nodes. The pure search itself is the pareto/ library.
 */
export { estimate, front, policyFor, choiceChange } from './reoptimize.ts';
export type { Estimate, RoundInput } from './reoptimize.ts';
export { startOptimizer } from './live.ts';
export type { LiveOptimizer, OptimizerDeps, RoundReport } from './live.ts';
export { parseOptimizerOptions, defaultOptimizerOptions } from './options.ts';
export type { OptimizerOptions } from './options.ts';
export { profileConfigurations, parseProfileOptions } from './profile.ts';
export type { ProfileDeps, ProfileOptions, ProfileReport } from './profile.ts';
export { openChannel, syntheticInputs } from './profile-channel.ts';
export type { Channel, ProfileInput } from './profile-channel.ts';
