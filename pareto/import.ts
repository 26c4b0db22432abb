/**
 * Import of measurements taken elsewhere (a testbed's CSV, the DynaSplit paper's published runs):
 * any CSV with one row per measured run becomes pool rows. Which columns name the configuration and
 * which hold the figures is given, since every testbed names them its own way ("Latency (ms)",
 * "CPU freq"); the configuration is named by its columns, `col=value,...`.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { parseCsv, type CsvRecord } from './csv.ts';
import { poolRow, type Baseline, type PoolRow } from './pool.ts';

/** Pool fields that can be filled from a column of the imported file. */
export type KnobField = 'cut' | 'codec' | 'edge_frequency_mhz' | 'edge_threads' | 'edge_accelerator' | 'cloud_accelerator';
export const KNOB_FIELDS: readonly KnobField[] = ['cut', 'codec', 'edge_frequency_mhz', 'edge_threads', 'edge_accelerator', 'cloud_accelerator'];

export interface ImportOptions {
  /** Columns whose values together name a configuration. */
  configColumns: readonly string[];
  latencyColumn: string;
  energyColumn: string;
  accuracyColumn?: string;
  /** Rows whose columns hold all these values are the cloud-only (edge-only) baseline's runs. */
  cloudOnly?: Record<string, string>;
  edgeOnly?: Record<string, string>;
  /** Pool fields read from a column, e.g. { cut: 'Split layer' }; unset fields stay empty. */
  knobColumns?: Partial<Record<KnobField, string>>;
  /** Value of the model column; default ''. */
  model?: string;
  /** Multiplies accuracy cells (0.01 for percentages); the result must be within 0..1. Default 1. */
  accuracyScale?: number;
  /** What produced the figures ('measured', 'modelled', ...); default '' (not known). */
  latencySource?: string;
  energySource?: string;
  /** Errors kept in the result; the count of rejected rows is always complete. Default 20. */
  maxErrors?: number;
}

export interface ImportError {
  /** 1-based line of the CSV where the row starts. */
  line: number;
  message: string;
}

export interface ImportResult {
  rows: PoolRow[];
  /** Rows read (imported + rejected). */
  records: number;
  rejected: number;
  /** The first `maxErrors` errors, in line order. */
  errors: ImportError[];
}

interface Columns {
  config: { name: string; at: number }[];
  latency: number;
  energy: number;
  accuracy: number;
  cloudOnly: [number, string][];
  edgeOnly: [number, string][];
  knobs: [KnobField, number][];
}

/** Throws BAD_ARGS when a named column is not in the header (listing the available ones). */
export function importCsv(text: string, options: ImportOptions): ImportResult {
  if (options.accuracyScale !== undefined && !(options.accuracyScale > 0 && Number.isFinite(options.accuracyScale))) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `accuracy scale must be a positive number, got ${options.accuracyScale}`);
  }
  const table = parseCsv(text);
  const columns = resolveColumns(table.header, options);
  const result: ImportResult = { rows: [], records: table.records.length, rejected: 0, errors: [] };
  const maxErrors = options.maxErrors ?? 20;
  for (const record of table.records) {
    const problems: string[] = [];
    const row = importRow(record, table.header.length, columns, options, problems);
    if (row && problems.length === 0) {
      result.rows.push(row);
      continue;
    }
    result.rejected++;
    if (result.errors.length < maxErrors) result.errors.push({ line: record.line, message: problems.join('; ') });
  }
  return result;
}

function resolveColumns(header: readonly string[], options: ImportOptions): Columns {
  const missing: string[] = [];
  const find = (wanted: string | undefined): number => {
    if (wanted === undefined) return -1;
    const at = findColumn(header, wanted);
    if (at < 0) missing.push(wanted);
    return at;
  };
  const pairs = (set: Record<string, string> | undefined): [number, string][] =>
    Object.entries(set ?? {}).map(([column, value]) => [find(column), value.trim()]);
  if (options.configColumns.length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'import: no configuration columns given');
  const columns: Columns = {
    config: options.configColumns.map((c) => ({ name: c.trim(), at: find(c) })),
    latency: find(options.latencyColumn),
    energy: find(options.energyColumn),
    accuracy: find(options.accuracyColumn),
    cloudOnly: pairs(options.cloudOnly),
    edgeOnly: pairs(options.edgeOnly),
    knobs: Object.entries(options.knobColumns ?? {}).map(([field, column]) => [field as KnobField, find(column)]),
  };
  if (missing.length > 0) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS,
      `import: no column ${missing.map((m) => `'${m}'`).join(', ')} in the CSV; available: ${header.map((h) => `'${h}'`).join(', ')}`,
      { details: { missing, available: [...header] } });
  }
  columns.config = columns.config.map((c) => ({ ...c, name: header[c.at] }));
  return columns;
}

/** Exact name first, then ignoring case and runs of whitespace ("latency  (MS)" finds "Latency (ms)"). */
function findColumn(header: readonly string[], wanted: string): number {
  const exact = header.indexOf(wanted);
  if (exact >= 0) return exact;
  const norm = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();
  return header.findIndex((h) => norm(h) === norm(wanted));
}

function importRow(record: CsvRecord, width: number, columns: Columns, options: ImportOptions, problems: string[]): PoolRow | undefined {
  if (record.fields.length !== width) {
    problems.push(`${record.fields.length} fields, the header has ${width}`);
    return undefined;
  }
  const cell = (at: number) => record.fields[at].trim();
  const number = (at: number, what: string, optional = false): number => {
    const text = cell(at);
    if (optional && text === '') return NaN;
    const n = text === '' ? NaN : Number(text);
    if (!Number.isFinite(n) || n < 0) problems.push(`${what} '${text}' is not a non-negative number`);
    return n;
  };
  const latencyMs = number(columns.latency, 'latency');
  const energyJ = number(columns.energy, 'energy');
  const accuracy = columns.accuracy < 0 ? NaN : number(columns.accuracy, 'accuracy', true) * (options.accuracyScale ?? 1);
  if (accuracy > 1) problems.push(`accuracy ${accuracy} is over 1 (percentages need an accuracy scale of 0.01)`);
  if (accuracy < 0) problems.push(`accuracy ${accuracy} is negative (the accuracy scale must be positive)`);
  const matches = (set: [number, string][]) => set.length > 0 && set.every(([at, value]) => cell(at) === value);
  const cloud = matches(columns.cloudOnly);
  const edge = matches(columns.edgeOnly);
  if (cloud && edge) problems.push('matches both the cloud-only and the edge-only baseline');
  const baseline: Baseline = cloud ? 'cloud-only' : edge ? 'edge-only' : '';
  return poolRow({
    model: options.model ?? '',
    configuration: columns.config.map((c) => `${c.name}=${cell(c.at)}`).join(','),
    latencyMs, energyJ, accuracy, baseline,
    latencySource: options.latencySource ?? '',
    energySource: options.energySource ?? '',
    ...knobFields(columns.knobs, cell, problems),
  });
}

function knobFields(knobs: [KnobField, number][], cell: (at: number) => string, problems: string[]): Partial<PoolRow> {
  const fields: Partial<PoolRow> = {};
  for (const [field, at] of knobs) {
    const text = cell(at);
    if (field === 'edge_frequency_mhz' || field === 'edge_threads') {
      const n = text === '' ? 0 : Number(text);
      if (!Number.isInteger(n) || n < 0) problems.push(`${field} '${text}' is not a non-negative integer`);
      fields[field === 'edge_threads' ? 'edgeThreads' : 'edgeFrequencyMhz'] = n;
    } else {
      const key = ({ cut: 'cut', codec: 'codec', edge_accelerator: 'edgeAccelerator', cloud_accelerator: 'cloudAccelerator' } as const)[field];
      fields[key] = text;
    }
  }
  return fields;
}
