/**
 * Evaluation: strategies compared over recorded measurements. A trace-driven simulation (DynaSplit,
 * May et al. 2024: 10,000 requests over recorded runs; here up to millions), the baselines and the
 * oracle behind one Strategy interface, workloads of latency budgets, and an optional queueing model
 * of K edge devices sharing M cloud workers; the report over results files (figures, claims, Markdown,
 * Vega-Lite plot specs), and the testbed's plan and figures. All of that is a pure core (no I/O); the
 * testbed's run, which starts an embedded pipeline, has its own front door, eval/testbed/index.ts.
 * docs/evaluation.md.
 */
export { simulate, simulationSteps } from './simulate.ts';
export type { RequestRecord, SimulateOptions, SimulationReport, SimulationStep } from './simulate.ts';
export { cloudOnlyBaseline, createStrategies, createStrategy, edgeOnlyBaseline, frontPolicy, STRATEGY_NAMES } from './strategies.ts';
export type { DrawContext, SimRequest, Strategy, StrategyName } from './strategies.ts';
export { budgetDistribution, latencyRange } from './budgets.ts';
export type { Budgets } from './budgets.ts';
export { Arrivals, checkQueueOptions, QueueSystem } from './queueing.ts';
export type { Completion, QueueOptions } from './queueing.ts';
export type { RequestOutcome, StrategyReport } from './stats.ts';
export { drawIndex, drawKey, poolTable, requestKey } from './table.ts';
export type { PoolTable, TableOptions } from './table.ts';
export { parseResults } from './results.ts';
export type { Results, ResultsMeta, SourceSpec } from './results.ts';
export { CLAIM_THRESHOLDS, describeSources, provenance, summarizeResults } from './claims.ts';
export type { Claims, Provenance, SectionSummary, StrategySummary } from './claims.ts';
export { reportMarkdown } from './report-markdown.ts';
export type { ReportFigure, ReportSection } from './report-markdown.ts';
export { configurationShares, MIX_TOP, reportPlots, SCATTER_POINTS, thin } from './report-specs.ts';
export type { PlotPlan } from './report-specs.ts';
export { budgetSequence } from './testbed-figures.ts';
export type { TestbedResults } from './testbed-figures.ts';
export { DEFAULT_SPACE } from './testbed-plan.ts';
