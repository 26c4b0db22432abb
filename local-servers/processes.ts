/** Runs `dynasplit` subcommands as separate OS processes, as a deployment would, with cleanup. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', 'bin', 'dynasplit.js');
/**
 * Node flags every node runs with, as the deploy kit's units and bin/dynasplit.js's shebang give
 * them (test/unit/local-servers/node-flags.test.ts keeps them the same): V8's old generation starts
 * at 64 MB, so the buffers large tensors pass through do not set off a full garbage collection every
 * few requests; it grows to twice what a full collection keeps, and collections run on the main
 * thread alone (docs/performance.md, "Garbage collection" and "Scale").
 */
export const NODE_FLAGS = ['--initial-heap-size=64', '--heap-growing-percent=100', '--single-threaded-gc'];
const running = new Set<ChildProcess>();
process.on('exit', () => running.forEach((p) => p.kill('SIGKILL')));

export interface Spawned {
  proc: ChildProcess;
  /** stdout and stderr interleaved. */
  output(): string;
  stdout(): string;
  /** Resolves when stdout or stderr has printed a line matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends a signal and resolves with the exit code (null when killed by a signal) once the output is all in. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export function spawnDynasplit(args: string[], env: Record<string, string> = {}): Spawned {
  const proc = spawn(process.execPath, [...NODE_FLAGS, BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let text = '';
  let stdout = '';
  const listeners: (() => void)[] = [];
  const onData = (chunk: Buffer) => {
    text += chunk.toString();
    [...listeners].forEach((l) => l());
  };
  proc.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    onData(chunk);
  });
  proc.stderr!.on('data', onData);
  // 'close' comes after 'exit' once stdout and stderr are drained: then all the output is in.
  let closed = false;
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => {
    closed = true;
    running.delete(proc);
    [...listeners].forEach((l) => l());
    resolve(code);
  }));
  return {
    proc,
    output: () => text,
    stdout: () => stdout,
    exited,
    waitFor: (pattern, timeoutMs = 60_000) => new Promise((resolve, reject) => {
      // Once settled the check stops listening: a long-lived process's output is not searched again on every chunk.
      const settle = (err?: Error) => {
        clearTimeout(timer);
        const at = listeners.indexOf(check);
        if (at >= 0) listeners.splice(at, 1);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (pattern.test(text)) settle();
        else if (closed) settle(new Error(`process exited before printing ${pattern}; output:\n${text}`));
      };
      const timer = setTimeout(() => settle(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${text}`)), timeoutMs);
      listeners.push(check);
      check();
    }),
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
