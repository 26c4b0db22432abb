/**
 * Ctrl-C in a long command (eval testbed, eval simulate, optimizer profile). The first SIGINT (or
 * SIGTERM) aborts `signal`: the command stops at its next step, closes what it started, marks or
 * removes what it wrote, and ends with one line saying so and exit code 130 (128 + SIGINT, as a shell
 * reports a process killed by it). A second one exits at once, for a step that does not stop.
 */
import { extname } from 'node:path';
import type { Io } from './command.ts';

/** Exit code of an interrupted command. */
export const INTERRUPTED_EXIT = 130;

export interface Interrupt {
  signal: AbortSignal;
  /** Removes the handlers; the default (exit at once) applies again. */
  dispose(): void;
}

export function onInterrupt(io: Io): Interrupt {
  const abort = new AbortController();
  const handler = () => {
    if (abort.signal.aborted) process.exit(INTERRUPTED_EXIT);
    io.stderr('\nstopping (interrupted; Ctrl-C again to quit at once)\n');
    abort.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: abort.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/** The command's last line after an interrupt: each file it left on disk, whole or partial, or that it left none. */
export function interruptedLine(written: readonly { file: string; partial: boolean }[]): string {
  const files = written.map((w) => `${w.file}${w.partial ? ' (partial)' : ''}`);
  return `interrupted: ${files.length > 0 ? `wrote ${files.join(', ')}` : 'nothing written'}\n`;
}

/** Where a cut-short output goes: `.partial` before the extension (pool.csv: pool.partial.csv), so no reader takes it for the whole. */
export function partialPath(file: string): string {
  const ext = extname(file);
  return `${file.slice(0, file.length - ext.length)}.partial${ext}`;
}
