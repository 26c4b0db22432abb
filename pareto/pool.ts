/**
 * The measurement pool: one CSV row per measured run (format: docs/optimizer.md), and its aggregation
 * into one set of figures per configuration — what the front and the policy are built from.
 */
import { DynasplitError, ErrorCodes, mean, medianOfSorted, nearestRank, sortedCopy } from '../common/index.ts';
import type { Configuration } from '../policy/index.ts';
import { formatCsv, parseCsv, type CsvRecord } from './csv.ts';

export type Baseline = '' | 'cloud-only' | 'edge-only';
export const BASELINES: readonly Baseline[] = ['', 'cloud-only', 'edge-only'];

export interface PoolRow {
  model: string;
  /** The configuration's name: policy's configurationName, or `col=value,...` for imported runs. */
  configuration: string;
  cut: string;
  codec: string;
  edgeFrequencyMhz: number;
  edgeThreads: number;
  edgeAccelerator: string;
  cloudAccelerator: string;
  /** End to end, ms. */
  latencyMs: number;
  /** Edge plus the cloud's share, J. */
  energyJ: number;
  /** 0..1; NaN when not measured (an empty cell). */
  accuracy: number;
  /** Parts of the latency, ms, and the bytes sent; NaN when not known. */
  edgeComputeMs: number;
  transferMs: number;
  cloudComputeMs: number;
  tensorBytes: number;
  latencySource: string;
  energySource: string;
  baseline: Baseline;
}

type Kind = 'name' | 'text' | 'int' | 'required' | 'optional' | 'fraction' | 'source' | 'baseline';
/** Where a figure comes from (docs/metrics.md); '' when not said. */
export const FIGURE_SOURCES = ['', 'measured', 'emulated', 'modelled'] as const;
/** Column, field, kind: 'required' numbers must be finite and >= 0; 'optional' ones may be empty. */
const COLUMNS: readonly (readonly [string, keyof PoolRow, Kind])[] = [
  ['model', 'model', 'text'],
  ['configuration', 'configuration', 'name'],
  ['cut', 'cut', 'text'],
  ['codec', 'codec', 'text'],
  ['edge_frequency_mhz', 'edgeFrequencyMhz', 'int'],
  ['edge_threads', 'edgeThreads', 'int'],
  ['edge_accelerator', 'edgeAccelerator', 'text'],
  ['cloud_accelerator', 'cloudAccelerator', 'text'],
  ['latency_ms', 'latencyMs', 'required'],
  ['energy_j', 'energyJ', 'required'],
  ['accuracy', 'accuracy', 'fraction'],
  ['edge_compute_ms', 'edgeComputeMs', 'optional'],
  ['transfer_ms', 'transferMs', 'optional'],
  ['cloud_compute_ms', 'cloudComputeMs', 'optional'],
  ['tensor_bytes', 'tensorBytes', 'optional'],
  ['latency_source', 'latencySource', 'source'],
  ['energy_source', 'energySource', 'source'],
  ['baseline', 'baseline', 'baseline'],
];
export const POOL_COLUMNS: readonly string[] = COLUMNS.map(([column]) => column);

/** A row with every optional figure unknown; `fields` fill in the rest. */
export function poolRow(fields: Partial<PoolRow> & Pick<PoolRow, 'configuration' | 'latencyMs' | 'energyJ'>): PoolRow {
  return {
    model: '', cut: '', codec: '', edgeFrequencyMhz: 0, edgeThreads: 0, edgeAccelerator: '', cloudAccelerator: '',
    accuracy: NaN, edgeComputeMs: NaN, transferMs: NaN, cloudComputeMs: NaN, tensorBytes: NaN,
    latencySource: '', energySource: '', baseline: '', ...fields,
  };
}

/** Reads a pool CSV; throws BAD_ARGS with details.line at the first bad row. */
export function readPool(text: string): PoolRow[] {
  const table = parseCsv(text);
  const position = new Map(table.header.map((h, i) => [h, i]));
  const missing = POOL_COLUMNS.filter((c) => !position.has(c));
  if (missing.length > 0) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `pool CSV line ${table.headerLine}: missing column(s) ${missing.join(', ')}`, {
      details: { line: table.headerLine, missing },
    });
  }
  return table.records.map((record) => {
    // A row cut short (a truncated file, a copy interrupted) or run on would be read with empty or shifted cells.
    if (record.fields.length !== table.header.length) {
      throw new DynasplitError(ErrorCodes.BAD_ARGS,
        `pool CSV line ${record.line}: ${record.fields.length} fields, the header has ${table.header.length} (a truncated or hand-edited file?)`,
        { details: { line: record.line, fields: record.fields.length, columns: table.header.length } });
    }
    return parseRow(record, position);
  });
}

function parseRow(record: CsvRecord, position: Map<string, number>): PoolRow {
  const row: Record<string, unknown> = {};
  for (const [column, key, kind] of COLUMNS) {
    const cell = (record.fields[position.get(column)!] ?? '').trim();
    const value = parseCell(cell, kind);
    if (value === undefined) {
      throw new DynasplitError(ErrorCodes.BAD_ARGS, `pool CSV line ${record.line}: ${column} ${describeKind(kind)}, got '${cell}'`, {
        details: { line: record.line, column },
      });
    }
    row[key] = value;
  }
  return row as unknown as PoolRow;
}

function parseCell(cell: string, kind: Kind): string | number | undefined {
  if (kind === 'text') return cell;
  if (kind === 'name') return cell === '' ? undefined : cell;
  if (kind === 'baseline') return (BASELINES as readonly string[]).includes(cell) ? cell : undefined;
  if (kind === 'source') return (FIGURE_SOURCES as readonly string[]).includes(cell) ? cell : undefined;
  if (cell === '') return kind === 'required' ? undefined : kind === 'int' ? 0 : NaN;
  const n = Number(cell);
  if (!Number.isFinite(n) || n < 0 || (kind === 'int' && !Number.isInteger(n)) || (kind === 'fraction' && n > 1)) return undefined;
  return n;
}

function describeKind(kind: Kind): string {
  if (kind === 'name') return 'must not be empty';
  if (kind === 'baseline') return `must be one of '', ${BASELINES.slice(1).join(', ')}`;
  if (kind === 'source') return `must be one of '', ${FIGURE_SOURCES.slice(1).join(', ')}`;
  if (kind === 'fraction') return 'must be empty or a number within 0..1';
  if (kind === 'int') return 'must be a non-negative integer';
  return kind === 'required' ? 'must be a non-negative number' : 'must be empty or a non-negative number';
}

export function writePool(rows: readonly PoolRow[]): string {
  return formatCsv(POOL_COLUMNS, rows.map((row) => COLUMNS.map(([, key]) => cellText(row[key]))));
}

function cellText(value: string | number): string {
  return typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value;
}

/** One configuration's figures over its runs. */
export interface Aggregate {
  model: string;
  configuration: Configuration;
  runs: number;
  /** Median end-to-end latency, ms. */
  latencyMs: number;
  /** 95th percentile, nearest rank (the smallest value with at least 95% of runs at or below it). */
  latencyP95Ms: number;
  /** Mean, J. */
  energyJ: number;
  /** Mean over the runs that measured it; `unknownAccuracy` when none did (see accuracyRuns). */
  accuracy: number;
  accuracyRuns: number;
  baseline: Baseline;
  /** The runs' source, or 'mixed' when they differ. */
  latencySource: string;
  energySource: string;
}

export interface AggregateOptions {
  /** Accuracy of a configuration no run measured; default 1 (as good as the unsplit model). */
  unknownAccuracy?: number;
}

/** Groups runs by (model, configuration) in order of first appearance. */
export function aggregatePool(rows: readonly PoolRow[], options: AggregateOptions = {}): Aggregate[] {
  const groups = new Map<string, PoolRow[]>();
  for (const row of rows) {
    const key = `${row.model}\u0000${row.configuration}`;
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return [...groups.values()].map((group) => aggregate(group, options.unknownAccuracy ?? 1));
}

function aggregate(runs: PoolRow[], unknownAccuracy: number): Aggregate {
  const first = runs[0];
  const latencies = sortedCopy(runs.map((r) => r.latencyMs));
  const accuracies = runs.map((r) => r.accuracy).filter(Number.isFinite);
  return {
    model: first.model,
    configuration: {
      name: first.configuration, cut: first.cut, codec: first.codec, edge_frequency_mhz: first.edgeFrequencyMhz,
      edge_threads: first.edgeThreads, edge_accelerator: first.edgeAccelerator, cloud_accelerator: first.cloudAccelerator,
    },
    runs: runs.length,
    latencyMs: medianOfSorted(latencies),
    latencyP95Ms: nearestRank(latencies, 0.95),
    energyJ: mean(runs.map((r) => r.energyJ)),
    accuracy: accuracies.length > 0 ? mean(accuracies) : unknownAccuracy,
    accuracyRuns: accuracies.length,
    baseline: runs.find((r) => r.baseline !== '')?.baseline ?? '',
    latencySource: common(runs.map((r) => r.latencySource)),
    energySource: common(runs.map((r) => r.energySource)),
  };
}

function common(values: readonly string[]): string {
  return values.every((v) => v === values[0]) ? values[0] : 'mixed';
}
