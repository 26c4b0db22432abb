import { pino, type Logger } from 'pino';

export interface LogLine { level: string; msg: string; fields: Record<string, unknown> }

/** A pino logger (info and up) whose lines are kept as they are written: level name, message and every field. */
export function captureLog(): { lines: LogLine[]; logger: Logger } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'info', formatters: { level: (label) => ({ level: label }) } }, {
    write: (line: string) => {
      const fields = JSON.parse(line) as Record<string, unknown>;
      lines.push({ level: String(fields.level), msg: String(fields.msg), fields });
    },
  });
  return { lines, logger };
}
