/** The one place that picks a MetricsStore implementation by name (the CLI's --metrics flag). */
import { EmbeddedMetricsStore, type EmbeddedStoreOptions } from './embedded-store.ts';
import type { InfluxStoreOptions } from './influx-options.ts';
import { InfluxMetricsStore } from './influx-store.ts';
import type { MetricsStore } from './metrics-store.ts';

export function createMetricsStore(kind: 'embedded', options?: EmbeddedStoreOptions): MetricsStore;
export function createMetricsStore(kind: 'influxdb', options: InfluxStoreOptions): MetricsStore;
export function createMetricsStore(kind: 'embedded' | 'influxdb', options?: EmbeddedStoreOptions | InfluxStoreOptions): MetricsStore;
export function createMetricsStore(kind: 'embedded' | 'influxdb', options?: EmbeddedStoreOptions | InfluxStoreOptions): MetricsStore {
  return kind === 'influxdb' ? new InfluxMetricsStore(options as InfluxStoreOptions) : new EmbeddedMetricsStore(options as EmbeddedStoreOptions);
}
