/** Policies: configurations, the per-request decision rule, and the built-in default policy. */
export { configuration, configurationName, EDGE_ONLY_CUT, CLOUD_ONLY_CUT } from './configuration.ts';
export type { Configuration } from './configuration.ts';
export { compilePolicy, decide, DECISION_RULES } from './decide.ts';
export type { CompiledPolicy, DecideOptions, DecisionRule, Entry } from './decide.ts';
export { defaultPolicy, defaultSplit, decodePolicy, encodePolicy } from './default-policy.ts';
export type { CutSummary } from './default-policy.ts';
