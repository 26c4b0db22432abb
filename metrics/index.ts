/** Front door of the metrics library: the MetricsStore contract, its two implementations, the schema. */
export type {
  ConfigStats, FigureSource, LinkMetric, LinkQuery, LinkSample, LinkSamplesQuery, LinkStats, MetricsStore, MetricsStoreStats, OptimizerMetric, RequestMetric,
  WindowQuery,
} from './metrics-store.ts';
export { configurationFailuresOf, failed } from './failures.ts';
export type { ConfigFailures } from './metrics-store.ts';
export { createMetricsStore } from './create-store.ts';
export { EmbeddedMetricsStore, EMBEDDED_DEFAULTS } from './embedded-store.ts';
export type { EmbeddedStoreOptions } from './embedded-store.ts';
export { InfluxMetricsStore } from './influx-store.ts';
export { INFLUX_DEFAULTS, parseInfluxEnv, resolveInfluxOptions } from './influx-options.ts';
export type { InfluxApi, InfluxStoreOptions, ResolvedInfluxOptions } from './influx-options.ts';
export { LINK, OPTIMIZER, REQUEST, REQUEST_FLOAT_FIELDS, REQUEST_INT_FIELDS, REQUEST_TAGS } from './schema.ts';
