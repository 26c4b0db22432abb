/**
 * One pino record as one human-readable line (plus the stack of an unexpected error):
 *   13:04:05.123 WARN  edge-node edge-1: frame refused  code=DYNASPLIT_ERR_BAD_FRAME sensor=s1
 * For terminals; JSON lines stay the format for files, pipes and log collectors. A summary of repeats
 * says its count in the message, so its `repeated` and `windowS` fields are not repeated.
 */
import { codeOf, type LogRecord } from './log-repeats.ts';

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '90' },
  20: { name: 'DEBUG', color: '90' },
  30: { name: 'INFO', color: '32' },
  40: { name: 'WARN', color: '33' },
  50: { name: 'ERROR', color: '31' },
  60: { name: 'FATAL', color: '1;31' },
};

/** Fields shown in the line's head or not at all (pino's own bookkeeping). */
const HEAD = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'component', 'node', 'err', 'code', 'repeated', 'windowS']);
/** characters; a longer field value is cut, the JSON line keeps it whole */
const MAX_VALUE = 160;

export interface PrettyOptions {
  /** ANSI colours (a terminal that did not ask for NO_COLOR). */
  colors?: boolean;
}

export function formatPretty(record: LogRecord, options: PrettyOptions = {}): string {
  const paint = (code: string, text: string) => (options.colors ? `\x1b[${code}m${text}\x1b[0m` : text);
  const level = LEVELS[record.level] ?? { name: String(record.level), color: '0' };
  const where = [record.component, record.node].filter((part) => part !== undefined).map(String).join(' ');
  const err = record.err as { type?: string; message?: string; stack?: string } | undefined;
  const code = codeOf(record);
  const fields = Object.entries(record).filter(([key, value]) => !HEAD.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${fieldValue(value)}`);
  const head = [
    paint('2', clock(record.time)),
    paint(level.color, level.name.padEnd(5)),
    `${where ? `${paint('36', where)}: ` : ''}${record.msg ?? ''}`,
  ].join(' ');
  const tail = [
    ...(code ? [paint('2', `code=${code}`)] : []),
    ...(err?.message && err.message !== record.msg ? [`err=${fieldValue(err.message)}`] : []),
    ...fields.map((field) => paint('2', field)),
  ];
  // A stack helps with the unexpected (errors without a code); a coded error's message says it all.
  const stack = err?.stack && !code && record.level >= 50 ? `\n${indent(err.stack)}` : '';
  return `${head}${tail.length ? `  ${tail.join(' ')}` : ''}${stack}\n`;
}

function clock(time: number | undefined): string {
  const date = new Date(time ?? Date.now());
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function fieldValue(value: unknown): string {
  const text = typeof value === 'string' ? (/[\s"=]/.test(value) ? JSON.stringify(value) : value) : JSON.stringify(value) ?? String(value);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

function indent(text: string): string {
  return text.split('\n').map((line) => `    ${line}`).join('\n');
}
