/**
 * CSV as RFC 4180 defines it: comma-separated fields, a field with a comma, quote or line break is
 * quoted, a quote inside a quoted field is doubled. Parsing is csv-parse's (sync API); this file sets
 * it up to read leniently where spreadsheets differ — LF or CRLF (a lone CR is data), a UTF-8 byte
 * order mark, blank lines skipped, a quote inside an unquoted field kept as written, rows of any
 * width — and gives every record the line it starts on, so errors can name it.
 */
import { parse, CsvError, type Options } from 'csv-parse/sync';
import { DynasplitError, ErrorCodes } from '../common/index.ts';

export interface CsvRecord {
  /** 1-based line of the file where the record starts (the header is line 1 in most files). */
  line: number;
  fields: string[];
}

export interface CsvTable {
  header: string[];
  headerLine: number;
  records: CsvRecord[];
}

const OPTIONS: Options = {
  bom: true,
  // Only LF and CRLF end a record; csv-parse would otherwise guess from the first break it meets.
  record_delimiter: ['\r\n', '\n'],
  relax_quotes: true,
  relax_column_count: true,
};

const LF = 0x0a;

/** Parses a whole CSV text; throws BAD_ARGS (details.line) for an unterminated quoted field. */
export function parseCsv(text: string): CsvTable {
  const records = parseRecords(text);
  const first = records.shift();
  if (!first) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'CSV is empty: no header line', { details: { line: 1 } });
  return { header: first.fields.map((h) => h.trim()), headerLine: first.line, records };
}

function parseRecords(text: string): CsvRecord[] {
  // Parsed from bytes: csv-parse works on a Buffer (a string is converted first), and its offsets are in bytes.
  const bytes = Buffer.from(text, 'utf8');
  // Where each record ends, from csv-parse's context (UTF-8 bytes, its delimiter included): cheaper
  // than `info: true`, which copies the whole context per record.
  const ends: number[] = [];
  let parsed: string[][];
  try {
    parsed = parse(bytes, { ...OPTIONS, on_record: (record: string[], context: { bytes: number }) => (ends.push(context.bytes), record) });
  } catch (cause) {
    throw csvError(cause, text);
  }
  // Lines are counted as LFs before a record's first byte: csv-parse's own `lines` also counts a lone
  // CR inside a quoted field, and ends where the record ends rather than where it starts.
  const records: CsvRecord[] = [];
  let offset = 0;
  let line = 1;
  parsed.forEach((fields, i) => {
    // A blank line (nothing or only spaces) is one field of blanks: skipped, as spreadsheets write them.
    if (!(fields.length === 1 && fields[0].trim() === '')) records.push({ line, fields });
    line += countLf(bytes, offset, ends[i]);
    offset = ends[i];
  });
  return records;
}

function countLf(bytes: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = bytes.indexOf(LF, from); i >= 0 && i < to; i = bytes.indexOf(LF, i + 1)) n++;
  return n;
}

/**
 * csv-parse's error as BAD_ARGS naming a line. For an unclosed quote csv-parse names the line where
 * the input ended; the field opened at the first quote of the last run of an odd number of quotes
 * (after an opening quote, quotes come only as doubled pairs, else the field would have closed).
 */
function csvError(cause: unknown, text: string): DynasplitError {
  if (!(cause instanceof CsvError)) return new DynasplitError(ErrorCodes.BAD_ARGS, `CSV: ${(cause as Error).message}`, { cause });
  if (cause.code === 'CSV_QUOTE_NOT_CLOSED') {
    const line = lineAt(text, lastOddQuoteRun(text));
    return new DynasplitError(ErrorCodes.BAD_ARGS, `line ${line}: quoted field never closed`, { cause, details: { line } });
  }
  const line = typeof cause.lines === 'number' ? cause.lines : 1;
  return new DynasplitError(ErrorCodes.BAD_ARGS, `line ${line}: ${cause.message}`, { cause, details: { line } });
}

function lastOddQuoteRun(text: string): number {
  let end = text.lastIndexOf('"');
  while (end >= 0) {
    let start = end;
    while (start > 0 && text[start - 1] === '"') start--;
    if ((end - start + 1) % 2 === 1) return start;
    end = start > 0 ? text.lastIndexOf('"', start - 1) : -1;
  }
  return 0;
}

/** 1-based line of index i: one more than the LFs before it. */
function lineAt(text: string, i: number): number {
  let line = 1;
  for (let k = text.indexOf('\n'); k >= 0 && k < i; k = text.indexOf('\n', k + 1)) line++;
  return line;
}

/** One field, quoted when RFC 4180 requires it. */
export function formatCsvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Rows joined with LF (readers accept CRLF too); the last line ends with a line break. */
export function formatCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, ...rows].map((r) => r.map(formatCsvField).join(',')).join('\n') + '\n';
}
