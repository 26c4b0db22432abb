/**
 * The optimizer component: the live optimizer that reads windowed metrics, re-optimizes over the
 * configuration space (pareto/) and publishes retained policies, and the measurement run (profiling)
 * of configurations on running nodes. The pure search itself is the pareto/ library.
 */
export { estimate, front, policyFor, choiceChange } from './reoptimize.ts';
export type { Estimate, RoundInput } from './reoptimize.ts';
export { startOptimizer } from './live.ts';
export type { LiveOptimizer, OptimizerDeps, RoundReport } from './live.ts';
export { parseOptimizerOptions, defaultOptimizerOptions } from './options.ts';
export { NodeDirectory, parseAnnouncement } from './nodes.ts';
export type { AnnouncedNode } from './nodes.ts';
export { classSpace, configurationsOf, devicesOfNodes, devicesOfProfile } from './classes.ts';
export type { ClassDevices } from './classes.ts';
export { failingConfigurations, withoutFailing } from './failing.ts';
export type { OptimizerOptions } from './options.ts';
export { measureConfigurations, parseMeasureOptions } from './measure.ts';
export type { MeasureDeps, MeasureOptions, MeasureReport } from './measure.ts';
