/**
 * Imported CSV pools (pareto/, parsed by csv-parse): `parseCsv`, `readPool` and `importCsv` on arbitrary
 * text, quotes, CR/LF mixes, byte order marks and huge fields. Errors must be BAD_ARGS naming the line
 * (docs/optimizer.md, "Measurement pool"); good text must round-trip exactly, with the line each
 * record starts on (csv-parse's own count ends where a record ends and counts a lone CR).
 */
import fc from 'fast-check';
import { ErrorCodes } from '../../common/index.ts';
import { formatCsvField, importCsv, parseCsv, POOL_COLUMNS, readPool, writePool, type ImportOptions, type PoolRow } from '../../pareto/index.ts';
import { anyString } from './arbitraries.ts';
import { attempt, check, type FuzzProperty } from './property.ts';

const BAD_ARGS = [ErrorCodes.BAD_ARGS];

/** Text made mostly of what CSV parsers trip on. */
const csvChar = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(',', '"', '\r', '\n', '\r\n', ' ', 'a', '1', '.', '-', 'e', '\uFEFF', '\t', '""') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }) },
);
const csvText = fc.oneof(
  fc.string({ unit: csvChar, maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.tuple(fc.constantFrom('', '\uFEFF'), fc.string({ unit: csvChar, maxLength: 60 })).map(([bom, s]) => bom + s),
);

/**
 * A field of 10^4..2*10^5 characters (quotes, separators, line breaks or plain text), described
 * rather than built: fast-check would walk every character of a huge string to shrink it, and a
 * counterexample reads better as `"\"" x 120000`. `expand` builds it inside the property.
 */
interface Huge { unit: string; length: number }
const hugeField = fc.record({ unit: fc.constantFrom('"', 'a', ',', '\n', '\r\n', '""', 'x"y'), length: fc.integer({ min: 10_000, max: 200_000 }) });
const expand = (cell: string | Huge): string => (typeof cell === 'string' ? cell : cell.unit.repeat(Math.ceil(cell.length / cell.unit.length)));

/** 1 + the line feeds before `offset`: the line `offset` is on. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function checkLineDetail(err: { details: Record<string, unknown>; message: string }, text: string): void {
  const line = err.details.line;
  check(Number.isInteger(line) && (line as number) >= 1 && (line as number) <= lineAt(text, text.length),
    `error names line ${String(line)} of a ${lineAt(text, text.length)}-line text: ${err.message}`);
}

interface Built { text: string; lines: number[] }
interface Layout { eols: boolean[]; blanks: number[]; bom: boolean; last: boolean }

/**
 * Rows as a CSV file: fields through formatCsvField, each line ended by LF or CRLF, blank lines
 * between, an optional BOM; `lines` holds where each row starts (the header is row 0).
 */
function buildCsv(rows: readonly (readonly string[])[], layout: Layout): Built {
  let text = layout.bom ? '\uFEFF' : '';
  const lines: number[] = [];
  let line = 1;
  rows.forEach((row, i) => {
    const blank = layout.blanks[i % layout.blanks.length] ?? 0;
    text += (i % 2 === 0 ? '\n' : '   \r\n').repeat(blank);
    line += blank;
    lines.push(line);
    const body = row.map(formatCsvField).join(',');
    line += body.split('\n').length - 1;
    const eol = layout.eols[i % layout.eols.length] ? '\r\n' : '\n';
    if (i < rows.length - 1 || layout.last) {
      text += body + eol;
      line++;
    } else {
      text += body;
    }
  });
  return { text, lines };
}

const layout: fc.Arbitrary<Layout> = fc.record({
  eols: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
  blanks: fc.array(fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(2) }), { minLength: 1, maxLength: 4 }),
  bom: fc.boolean(),
  last: fc.boolean(),
});

/** Header cells are trimmed on reading, and String.prototype.trim also strips U+FEFF. */
const headerCell = anyString.map((s) => s.trim()).filter((s) => s !== '');
/** A table of width 1..5; rows of one blank field are blank lines, which readers skip, so none is generated. */
const tableOf = (cell: fc.Arbitrary<string | Huge>) => fc.integer({ min: 1, max: 5 }).chain((width) => fc.tuple(
  fc.array(headerCell, { minLength: width, maxLength: width }),
  fc.array(fc.array(cell, { minLength: width, maxLength: width }).filter((r) => width > 1 || expand(r[0]).trim() !== ''), { maxLength: 6 }),
));
const table = tableOf(anyString);
/** Tables where one cell in six is huge (10^4..2*10^5 characters). */
const hugeTable = tableOf(fc.oneof({ weight: 5, arbitrary: anyString }, { weight: 1, arbitrary: hugeField }));

// ---------------------------------------------------------------------------------------------
// Pool files

const COLUMN_KIND: Record<string, 'text' | 'name' | 'int' | 'required' | 'optional' | 'fraction' | 'source' | 'baseline'> = {
  model: 'text', configuration: 'name', cut: 'text', codec: 'text', edge_frequency_mhz: 'int', edge_threads: 'int',
  edge_accelerator: 'text', cloud_accelerator: 'text', latency_ms: 'required', energy_j: 'required', accuracy: 'fraction',
  edge_compute_ms: 'optional', transfer_ms: 'optional', cloud_compute_ms: 'optional', tensor_bytes: 'optional',
  latency_source: 'source', energy_source: 'source', baseline: 'baseline',
};
const SOURCES = ['', 'measured', 'emulated', 'modelled'];
/** Cells are mostly valid, so that a file of 18 columns and several rows is sometimes valid as a whole. */
const mostly = (valid: fc.Arbitrary<string>, invalid: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 40, arbitrary: valid }, { weight: 1, arbitrary: invalid });
const NUMBER = fc.constantFrom('0', '1.5', '12', ' 7 ', '1e3', '-0', '0x10');
const NOT_NUMBER = fc.constantFrom('-1', 'NaN', 'Infinity', 'abc', '1e400', '1.5.2', '-1e-9');
const CELLS = {
  text: anyString,
  name: mostly(anyString.filter((s) => s.trim() !== ''), fc.constantFrom('', '  ')),
  int: mostly(fc.constantFrom('', '0', '12', ' 7 ', '1e3'), fc.oneof(NOT_NUMBER, fc.constant('1.5'))),
  required: mostly(NUMBER, fc.oneof(NOT_NUMBER, fc.constant(''))),
  optional: mostly(fc.oneof(NUMBER, fc.constant('')), NOT_NUMBER),
  fraction: mostly(fc.constantFrom('', '0', '0.5', ' 1 ', '1e-3', '-0'), fc.oneof(NOT_NUMBER, fc.constantFrom('1.5', '12'))),
  source: mostly(fc.constantFrom(...SOURCES, ' measured '), fc.oneof(anyString, fc.constantFrom('Measured', 'mixed'))),
  baseline: mostly(fc.constantFrom('', 'cloud-only', 'edge-only'), fc.constantFrom('both', 'Cloud-only')),
};

/** docs/optimizer.md's column table, restated: is this (trimmed) cell valid for its column? */
function validCell(kind: keyof typeof CELLS, cell: string): boolean {
  if (kind === 'text') return true;
  if (kind === 'name') return cell !== '';
  if (kind === 'baseline') return ['', 'cloud-only', 'edge-only'].includes(cell);
  if (kind === 'source') return SOURCES.includes(cell);
  if (cell === '') return kind !== 'required';
  const n = Number(cell);
  return Number.isFinite(n) && n >= 0 && (kind !== 'int' || Number.isInteger(n)) && (kind !== 'fraction' || n <= 1);
}

/** Pool files: the columns in any order, sometimes one missing or one extra, cells valid or not. */
const poolFile = fc.tuple(
  fc.shuffledSubarray([...POOL_COLUMNS], { minLength: POOL_COLUMNS.length }),
  fc.boolean(),
  fc.oneof({ weight: 12, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(POOL_COLUMNS.length - 1) }),
  fc.integer({ min: 0, max: 5 }),
).map(([columns, extra, drop, n]) => [[...columns.filter((_, i) => i !== drop), ...(extra ? ['extra'] : [])], n] as const)
  .chain(([header, n]) => fc.tuple(
  fc.constant(header),
  fc.array(fc.tuple(...header.map((c) => CELLS[COLUMN_KIND[c] ?? 'text'])), { minLength: n, maxLength: n }),
  layout,
));

function expectedPoolError(header: readonly string[], rows: readonly (readonly string[])[], lines: readonly number[]): { line: number; column?: string } | undefined {
  if (POOL_COLUMNS.some((c) => !header.includes(c))) return { line: lines[0] };
  for (const [r, row] of rows.entries()) {
    for (const column of POOL_COLUMNS) {
      if (!validCell(COLUMN_KIND[column], row[header.indexOf(column)].trim())) return { line: lines[r + 1], column };
    }
  }
  return undefined;
}

const trimmed = anyString.map((s) => s.trim());
const nonNegative = fc.oneof(fc.constantFrom(0, 1, 0.5), fc.double({ min: 0, max: 1e12, noNaN: true, noDefaultInfinity: true }));
const optionalFigure = fc.oneof(fc.constant(NaN), nonNegative);
const poolRow: fc.Arbitrary<PoolRow> = fc.record({
  model: trimmed, configuration: trimmed.filter((s) => s !== ''), cut: trimmed, codec: trimmed,
  edgeFrequencyMhz: fc.nat(), edgeThreads: fc.nat(256), edgeAccelerator: trimmed, cloudAccelerator: trimmed,
  latencyMs: nonNegative, energyJ: nonNegative, accuracy: fc.oneof(fc.constant(NaN), fc.double({ min: 0, max: 1, noNaN: true })),
  edgeComputeMs: optionalFigure, transferMs: optionalFigure, cloudComputeMs: optionalFigure, tensorBytes: optionalFigure,
  latencySource: fc.constantFrom(...SOURCES), energySource: fc.constantFrom(...SOURCES), baseline: fc.constantFrom('' as const, 'cloud-only' as const, 'edge-only' as const),
});

/** Same rows, numbers compared so that NaN equals NaN and -0 equals 0 (the file cannot tell them apart). */
function sameRows(a: readonly PoolRow[], b: readonly PoolRow[]): boolean {
  const same = (x: unknown, y: unknown) => x === y || (Number.isNaN(x) && Number.isNaN(y));
  return a.length === b.length && a.every((row, i) => (Object.keys(row) as (keyof PoolRow)[]).every((k) => same(row[k], b[i][k])));
}

// ---------------------------------------------------------------------------------------------
// Imports

const IMPORT_NAMES = ['Split layer', 'Latency (ms)', 'energy', 'acc', 'CPU freq', 'a', 'latency  (MS)', 'Energy '];
const IMPORT_CELLS = fc.oneof(fc.constantFrom('1', '0', '2.5', '99', '-3', '', 'x', 'features.pool3', '1e3', 'NaN', '0.5'), anyString);

const importCase = fc.tuple(
  fc.array(fc.constantFrom(...IMPORT_NAMES), { minLength: 1, maxLength: 5 }),
  fc.integer({ min: 0, max: 6 }),
).chain(([header, n]) => {
  // Columns the options name: mostly the header's (in another spelling sometimes), sometimes absent.
  const column = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...header) }, { weight: 1, arbitrary: fc.constantFrom(...IMPORT_NAMES) });
  return fc.tuple(
  fc.constant(header),
  fc.array(fc.array(IMPORT_CELLS, { minLength: header.length - (n % 3 === 0 ? 1 : 0), maxLength: header.length + (n % 4 === 0 ? 1 : 0) }), { minLength: n, maxLength: n }),
  layout,
  fc.record({
    configColumns: fc.array(column, { maxLength: 3 }),
    latencyColumn: column,
    energyColumn: column,
    accuracyColumn: fc.option(column, { nil: undefined }),
    cloudOnly: fc.option(fc.dictionary(column, IMPORT_CELLS, { maxKeys: 2 }), { nil: undefined }),
    edgeOnly: fc.option(fc.dictionary(column, IMPORT_CELLS, { maxKeys: 2 }), { nil: undefined }),
    knobColumns: fc.option(fc.record({ cut: column, edge_frequency_mhz: column }, { requiredKeys: [] }), { nil: undefined }),
    model: fc.option(trimmed, { nil: undefined }),
    accuracyScale: fc.option(fc.constantFrom(1, 0.01, 0.5), { nil: undefined }),
    maxErrors: fc.option(fc.nat(5), { nil: undefined }),
  }, { requiredKeys: ['configColumns', 'latencyColumn', 'energyColumn'] }),
  );
});

/** What importCsv returns must be consistent, name real lines, and be a pool readPool accepts back. */
function checkImport(text: string, lines: number[], options: ImportOptions): void {
  const out = attempt(BAD_ARGS, () => importCsv(text, options));
  if (!out.ok) return;
  const { rows, records, rejected, errors } = out.value;
  check(records === rows.length + rejected, `${records} records, ${rows.length} imported + ${rejected} rejected`);
  check(errors.length === Math.min(rejected, options.maxErrors ?? 20), `${errors.length} errors listed for ${rejected} rejected rows`);
  check(errors.every((e, i) => lines.includes(e.line) && e.line > lines[0] && (i === 0 || e.line > errors[i - 1].line)),
    () => `error lines ${errors.map((e) => e.line).join(',')} are not rows of lines ${lines.join(',')}`);
  const back = attempt([], () => readPool(writePool(rows)));
  check(back.ok && sameRows(back.value, rows), 'imported rows do not survive writePool -> readPool');
}

function checkTableRoundTrip(header: string[], rows: string[][], l: Layout): void {
  const built = buildCsv([header, ...rows], l);
  const out = attempt([], () => parseCsv(built.text));
  if (!out.ok) return;
  check(out.value.header.join('\u0000') === header.join('\u0000'), 'header changed');
  check(out.value.headerLine === built.lines[0], `header on line ${out.value.headerLine}, expected ${built.lines[0]}`);
  check(out.value.records.length === rows.length, `${out.value.records.length} records, expected ${rows.length}`);
  out.value.records.forEach((r, i) => {
    check(r.fields.length === rows[i].length && r.fields.every((f, k) => f === rows[i][k]), `record ${i} changed`);
    check(r.line === built.lines[i + 1], `record ${i} on line ${r.line}, expected ${built.lines[i + 1]}`);
  });
}

export const csvProperties: FuzzProperty[] = [
  {
    name: 'csv/parseCsv: arbitrary text, quotes, CR/LF mixes, BOMs',
    decoder: 'csv',
    build: () => fc.property(csvText, (text) => {
      const out = attempt(BAD_ARGS, () => parseCsv(text));
      if (!out.ok) return checkLineDetail(out.error, text);
      const { headerLine, records } = out.value;
      const last = lineAt(text, text.length);
      check(headerLine >= 1 && records.every((r, i) => r.line > (i === 0 ? headerLine : records[i - 1].line) && r.line <= last),
        `record lines ${[headerLine, ...records.map((r) => r.line)].join(',')} in a ${last}-line text`);
    }),
  },
  {
    name: 'csv/parseCsv: formatted tables round-trip with their line numbers',
    decoder: 'csv',
    build: () => fc.property(table, layout, ([header, rows], l) => checkTableRoundTrip(header, rows.map((r) => r.map(expand)), l)),
  },
  {
    name: 'csv/parseCsv: tables with huge fields round-trip',
    decoder: 'csv',
    shortRuns: 40,
    longRunShare: 0.02,
    build: () => fc.property(hugeTable, layout, ([header, rows], l) => checkTableRoundTrip(header, rows.map((r) => r.map(expand)), l)),
  },
  {
    name: 'csv/parseCsv: an unclosed quote names the line it opened on',
    decoder: 'csv',
    build: () => fc.property(table, layout, fc.nat(), ([header, rows], l, at) => {
      const built = buildCsv([header, ...rows.map((r) => r.map((c) => expand(c).slice(0, 50)))], { ...l, last: true });
      const row = at % (rows.length + 1);
      const text = `${built.text}${'x,'.repeat(row % 3)}"never closed\n${'a,b\n'.repeat(row % 2)}`;
      const out = attempt(BAD_ARGS, () => parseCsv(text));
      const opened = lineAt(text, text.lastIndexOf('"'));
      check(!out.ok && out.error.details.line === opened, () => `expected an error naming line ${opened}`);
    }),
  },
  {
    name: 'csv/readPool: arbitrary text',
    decoder: 'csv',
    build: () => fc.property(fc.oneof(csvText, csvText.map((t) => `${POOL_COLUMNS.join(',')}\n${t}`)), (text) => {
      const out = attempt(BAD_ARGS, () => readPool(text));
      if (!out.ok) checkLineDetail(out.error, text);
    }),
  },
  {
    name: 'csv/readPool: pool files with good and bad cells fail on the first bad row, naming it',
    decoder: 'csv',
    build: () => fc.property(poolFile, ([header, rows, l]) => {
      const built = buildCsv([header, ...rows], l);
      const expected = expectedPoolError(header, rows, built.lines);
      const out = attempt(BAD_ARGS, () => readPool(built.text));
      if (out.ok) {
        check(expected === undefined, () => `accepted a bad ${expected!.column} on line ${expected!.line}`);
        check(out.value.length === rows.length, 'rows lost');
        return;
      }
      check(expected !== undefined, `refused a valid pool: ${out.error.message}`);
      check(out.error.details.line === expected.line && out.error.details.column === expected.column,
        () => `error names line ${String(out.error.details.line)} ${String(out.error.details.column)}, expected ${expected.line} ${expected.column}`);
    }),
  },
  {
    name: 'csv/writePool -> readPool: random rows round-trip',
    decoder: 'csv',
    build: () => fc.property(fc.array(poolRow, { maxLength: 8 }), (rows) => {
      const out = attempt([], () => readPool(writePool(rows)));
      if (out.ok) check(sameRows(out.value, rows), 'rows changed');
    }),
  },
  {
    name: 'csv/importCsv: arbitrary tables and options',
    decoder: 'csv',
    build: () => fc.property(importCase, ([header, rows, l, options]) => {
      const built = buildCsv([header, ...rows], l);
      checkImport(built.text, built.lines, options as ImportOptions);
    }),
  },
  {
    name: 'csv/importCsv: negative accuracy scales',
    decoder: 'csv',
    build: () => fc.property(importCase, fc.double({ min: -2, max: 2, noNaN: true }), ([header, rows, l, options], accuracyScale) => {
      const built = buildCsv([header, ...rows], l);
      checkImport(built.text, built.lines, { ...(options as ImportOptions), accuracyScale });
    }),
  },
];
