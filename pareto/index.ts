/**
 * The Pareto library: pure functions over plain data, no I/O. The configuration space and its
 * validity rules, measurement pools and their CSV form (and import from other testbeds), the exact
 * Pareto front and the policy built from it, NSGA-II for spaces too large to enumerate, hypervolume
 * to compare fronts, the cost models (estimates, fitted to measured runs) that predict what was not
 * measured, the baseline marks of a pool, and the search on a measuring budget (which configurations
 * to measure: random, NSGA-II/III, model-guided). Used by the optimizer, the evaluation and the CLI.
 * Format and rules: docs/optimizer.md.
 */
export {
  buildSpace, configurationAt, cutsFromInspection, describeSpace, genesOf, indexOf, isValidGenes, memoryCheck, withDefaults,
} from './space.ts';
export type { EdgeSetting, KnobSet, RuleCount, Space, SpaceCut, SpaceDescription, Validity, ValidityCheck } from './space.ts';
export { knobsFromProfiles, profileCheck } from './device-knobs.ts';
export { parseCsv, formatCsv, formatCsvField } from './csv.ts';
export type { CsvRecord, CsvTable } from './csv.ts';
export { aggregatePool, BASELINES, FIGURE_SOURCES, POOL_COLUMNS, poolRow, readPool, writePool } from './pool.ts';
export type { Aggregate, AggregateOptions, Baseline, PoolRow } from './pool.ts';
export { importCsv, KNOB_FIELDS } from './import.ts';
export type { ImportError, ImportOptions, ImportResult, KnobField } from './import.ts';
export { dominates, frontToPolicy, paretoFront, paretoIndices } from './front.ts';
export type { FrontPoint, Objectives, PolicyMeta } from './front.ts';
export { nonDominatedFronts, nsga2 } from './nsga2.ts';
export type { Individual, Nsga2Options, Nsga2Result } from './nsga2.ts';
export { divisionsFor, nichePick, referenceDirections } from './nsga3.ts';
export { DEFAULT_REFERENCE, frontHypervolume, hypervolume3, hypervolumeRatio, normalize, objectiveBounds } from './hypervolume.ts';
export type { ObjectiveBounds, Point3 } from './hypervolume.ts';
export { predict, fitCorrections, priorAccuracy, transferTime, NO_CORRECTION } from './estimates.ts';
export { fitLink, linkForRound, priorEstimate, MIN_FIT_SAMPLES, MIN_SLOPE_T } from './link-fit.ts';
export type { LinkEstimate, LinkRoundOptions, LinkRoundState, LinkSample } from './link-fit.ts';
export type { Corrections, LinkModel, Observation, PredictContext, Prediction } from './estimates.ts';
export {
  accuracyByCodec, configurationFields, DEFAULT_LINK, expected, fitModel, HELD_OUT_SHARE, heldOutError, predictedRow, sampleCount, sampleIndices, unpredictable,
} from './fit.ts';
export type { FittedModel, HeldOutError, Measured, ModelContext } from './fit.ts';
export { markBaselines } from './baselines.ts';
export { budgetCount, search, searchAsync, searchSteps, SEARCH_STRATEGIES } from './search.ts';
export type { SearchOptions, SearchProgress, SearchResult, SearchStrategy, Trial } from './search.ts';
export type { Outcome } from './search-types.ts';
export { poolSpace, rangeHypervolumeRatio, searchPool } from './search-pool.ts';
export type { PoolSearch, PoolSpace } from './search-pool.ts';
export { searchRuns } from './search-runs.ts';
export type { RunSearch } from './search-runs.ts';
