/** The logger type components take; a silent one when the caller passes none. */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** The root logger of an entry point: JSON lines on stderr (stdout carries command output). */
export function rootLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination(2));
}
