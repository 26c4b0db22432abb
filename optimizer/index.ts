/**
 * The optimizer's front door. Pure core (no I/O): the configuration space, the measurement pool and
 * its CSV import, the exact Pareto front and the policy built from it, NSGA-II for spaces too large
 * to enumerate, and hypervolume to compare the two. Format and rules: docs/optimizer.md.
 */
export {
  buildSpace, configurationAt, cutsFromInspection, describeSpace, genesOf, indexOf, isValidGenes, memoryCheck, withDefaults,
} from './space.ts';
export type { EdgeSetting, KnobSet, RuleCount, Space, SpaceCut, SpaceDescription, Validity, ValidityCheck } from './space.ts';
export { knobsFromProfiles, profileCheck } from './profiles.ts';
export { parseCsv, formatCsv, formatCsvField } from './csv.ts';
export type { CsvRecord, CsvTable } from './csv.ts';
export { aggregatePool, BASELINES, median, nearestRank, POOL_COLUMNS, poolRow, readPool, writePool } from './pool.ts';
export type { Aggregate, AggregateOptions, Baseline, PoolRow } from './pool.ts';
export { importCsv, KNOB_FIELDS } from './import.ts';
export type { ImportError, ImportOptions, ImportResult, KnobField } from './import.ts';
export { dominates, frontToPolicy, paretoFront, paretoIndices } from './front.ts';
export type { FrontPoint, Objectives, PolicyMeta } from './front.ts';
export { nonDominatedFronts, nsga2 } from './nsga2.ts';
export type { Individual, Nsga2Options, Nsga2Result } from './nsga2.ts';
export { DEFAULT_REFERENCE, frontHypervolume, hypervolume3, hypervolumeRatio, normalize, objectiveBounds } from './hypervolume.ts';
export type { ObjectiveBounds, Point3 } from './hypervolume.ts';
export { predict, fitCorrections, fitLink, priorAccuracy, transferTime, NO_CORRECTION } from './estimates.ts';
export type { Corrections, LinkModel, Observation, PredictContext, Prediction } from './estimates.ts';
export { estimate, front, policyFor, choiceChange } from './reoptimize.ts';
export type { Estimate, RoundInput } from './reoptimize.ts';
export { startOptimizer } from './live.ts';
export type { LiveOptimizer, OptimizerDeps, RoundReport } from './live.ts';
export { parseOptimizerOptions, defaultOptimizerOptions } from './options.ts';
export type { OptimizerOptions } from './options.ts';
export { profileConfigurations, parseProfileOptions } from './profile.ts';
export type { ProfileDeps, ProfileOptions, ProfileReport } from './profile.ts';
