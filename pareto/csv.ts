/**
 * CSV as RFC 4180 defines it: comma-separated fields, a field with a comma, quote or line break is
 * quoted, a quote inside a quoted field is doubled. Read leniently where spreadsheets differ: LF or
 * CRLF, a UTF-8 byte order mark, blank lines skipped. Every record keeps the line it starts on, so
 * errors can name it.
 */
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

/** Parses a whole CSV text; throws BAD_ARGS (details.line) for an unterminated quoted field. */
export function parseCsv(text: string): CsvTable {
  const records = parseRecords(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  const first = records.shift();
  if (!first) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'CSV is empty: no header line', { details: { line: 1 } });
  return { header: first.fields.map((h) => h.trim()), headerLine: first.line, records };
}

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

function parseRecords(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const cursor = { i: 0, line: 1 };
  while (cursor.i < text.length) {
    const start = cursor.line;
    const fields: string[] = [];
    for (;;) {
      fields.push(text.charCodeAt(cursor.i) === QUOTE ? quotedField(text, cursor) : text.slice(cursor.i, (cursor.i = fieldEnd(text, cursor.i))));
      if (cursor.i >= text.length) break;
      const c = text.charCodeAt(cursor.i);
      if (c === COMMA) { cursor.i++; continue; }
      cursor.i += c === CR ? 2 : 1;
      cursor.line++;
      break;
    }
    if (!(fields.length === 1 && fields[0].trim() === '')) records.push({ line: start, fields });
  }
  return records;
}

/** Index of the comma, line break or end that ends an unquoted field starting at i. */
function fieldEnd(text: string, i: number): number {
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === COMMA || c === LF || (c === CR && text.charCodeAt(i + 1) === LF)) return i;
  }
  return i;
}

/** A quoted field from the opening quote; text after the closing quote up to the delimiter is kept (lenient). */
function quotedField(text: string, cursor: { i: number; line: number }): string {
  const openedAt = cursor.line;
  let value = '';
  let j = cursor.i + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q < 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, `line ${openedAt}: quoted field never closed`, { details: { line: openedAt } });
    value += text.slice(j, q);
    if (text.charCodeAt(q + 1) !== QUOTE) { j = q + 1; break; }
    value += '"';
    j = q + 2;
  }
  for (let k = cursor.i; k < j; k++) if (text.charCodeAt(k) === LF) cursor.line++;
  const end = fieldEnd(text, j);
  cursor.i = end;
  return value + text.slice(j, end);
}

/** One field, quoted when RFC 4180 requires it. */
export function formatCsvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Rows joined with LF (readers accept CRLF too); the last line ends with a line break. */
export function formatCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, ...rows].map((r) => r.map(formatCsvField).join(',')).join('\n') + '\n';
}
