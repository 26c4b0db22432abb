/**
 * The InfluxDB schema (docs/metrics.md): measurement, tag and field names, and the line-protocol
 * form of each metric, formatted with the official client's Point. Tags are the low-cardinality
 * strings the queries group and filter by; everything measured is a field.
 */
import { Point, type PointSettings } from '@influxdata/influxdb-client';
import type { LinkMetric, OptimizerMetric, RequestMetric } from './metrics-store.ts';

export const REQUEST = 'request';
export const LINK = 'link';
export const OPTIMIZER = 'optimizer';

/** RequestMetric key -> tag key. An empty value writes no tag; InfluxQL reads a missing tag as ''. */
export const REQUEST_TAGS = {
  model: 'model',
  configuration: 'configuration',
  cut: 'cut',
  codec: 'codec',
  edgeId: 'edge_id',
  edgeClass: 'edge_class',
  workerId: 'worker_id',
  sensorId: 'sensor_id',
  errorCode: 'error_code',
  latencySource: 'latency_source',
  energySource: 'energy_source',
  accelerator: 'accelerator',
  cloudMode: 'cloud_mode',
} as const satisfies Partial<Record<keyof RequestMetric, string>>;

/** RequestMetric key -> float field key (ms, J, MHz). */
export const REQUEST_FLOAT_FIELDS = {
  endToEndMs: 'end_to_end_ms',
  edgeComputeMs: 'edge_compute_ms',
  encodeMs: 'encode_ms',
  transferMs: 'transfer_ms',
  cloudQueueMs: 'cloud_queue_ms',
  cloudComputeMs: 'cloud_compute_ms',
  budgetMs: 'budget_ms',
  energyJ: 'energy_j',
  edgeEnergyJ: 'edge_energy_j',
  cloudEnergyJ: 'cloud_energy_j',
  frequencyMhz: 'frequency_mhz',
  top1Agreement: 'top1_agreement',
} as const satisfies Partial<Record<keyof RequestMetric, string>>;

/**
 * RequestMetric key -> integer field key. Flags are 0/1 integers rather than booleans because
 * InfluxQL's MEAN and SUM reject booleans: MEAN(budget_met) is the share of budgets met.
 */
export const REQUEST_INT_FIELDS = {
  tensorBytes: 'tensor_bytes',
  threads: 'threads',
  budgetMet: 'budget_met',
  edgeFallback: 'edge_fallback',
} as const satisfies Partial<Record<keyof RequestMetric, string>>;

/**
 * Timestamps are ms since the epoch written at ns precision, the sub-ms digits holding a counter:
 * InfluxDB keeps one point per series and timestamp, so two requests with the same tags finishing
 * in the same ms would otherwise overwrite each other. Queries still select whole ms.
 */
export class Timestamper implements Partial<PointSettings> {
  private counter = 0;

  convertTime = (value: string | number | Date | undefined): string | undefined => {
    const ms = Math.floor(Number(value));
    this.counter = (this.counter + 1) % 1_000_000;
    return `${ms}${String(this.counter).padStart(6, '0')}`;
  };
}

export function requestLine(m: RequestMetric, settings: Partial<PointSettings>): string | undefined {
  const point = new Point(REQUEST).timestamp(m.timeMs);
  for (const [key, tag] of Object.entries(REQUEST_TAGS)) addTag(point, tag, m[key as keyof typeof REQUEST_TAGS]);
  for (const [key, field] of Object.entries(REQUEST_FLOAT_FIELDS)) {
    const value = m[key as keyof typeof REQUEST_FLOAT_FIELDS];
    if (Number.isFinite(value)) point.floatField(field, value); // the client throws on NaN/Infinity
  }
  for (const [key, field] of Object.entries(REQUEST_INT_FIELDS)) {
    const value = Number(m[key as keyof typeof REQUEST_INT_FIELDS]); // booleans become 0/1
    if (Number.isFinite(value)) point.intField(field, value);
  }
  return point.toLineProtocol(settings);
}

export function linkLine(m: LinkMetric, settings: Partial<PointSettings>): string | undefined {
  const point = new Point(LINK).timestamp(m.timeMs);
  addTag(point, 'edge_id', m.edgeId);
  if (Number.isFinite(m.bytes)) point.intField('bytes', m.bytes);
  if (Number.isFinite(m.transferMs)) point.floatField('transfer_ms', m.transferMs);
  if (Number.isFinite(m.rttMs)) point.floatField('rtt_ms', m.rttMs);
  return point.toLineProtocol(settings);
}

export function optimizerLine(m: OptimizerMetric, settings: Partial<PointSettings>): string | undefined {
  const point = new Point(OPTIMIZER).timestamp(m.timeMs);
  addTag(point, 'optimizer_id', m.optimizerId);
  addTag(point, 'model', m.model);
  addTag(point, 'edge_class', m.edgeClass);
  const counts = {
    round: m.round, space_size: m.spaceSize, front_size: m.frontSize, failing: m.failing, refusals: m.refusals,
    disagreeing: m.disagreeing, published_version: m.publishedVersion,
  };
  for (const [field, value] of Object.entries(counts)) if (Number.isFinite(value)) point.intField(field, value);
  return point.toLineProtocol(settings);
}

function addTag(point: Point, tag: string, value: unknown): void {
  // A trailing backslash would escape the separator after it (the client leaves that to the caller).
  if (typeof value === 'string' && value) point.tag(tag, value.replace(/\\+$/, ''));
}
