/**
 * Stopping what the README starts stops it: each long-running README command, started as the README
 * writes it (`npx dynasplit broker|cloud|edge ...`: npm exec, then `sh -c`, then node), is sent SIGTERM
 * on the PID the shell got back (npx's); every process of its tree, read from /proc, must then be gone
 * — none left serving under PID 1. npm and sh do not pass the signal on; the node notices its launcher
 * went away (bin/dynasplit.js).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it, onTestFinished, vi } from 'vitest';
import { freePort, startMosquitto, type RunningServer } from '../../local-servers/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const zoo = inject('zooDir');
let mosquitto: RunningServer;
const started: ChildProcess[] = [];
/** Every PID of the commands' trees: a failed run must not leave them behind. */
const seen = new Set<number>();

beforeAll(async () => {
  mosquitto = await startMosquitto();
});
afterAll(async () => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const pid of seen) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  await mosquitto?.stop();
});

/** PID -> parent PID of every process now (from /proc/PID/stat: the field after the command's closing parenthesis). */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      out.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited while being read
    }
  }
  return out;
}

/** `pid` and all its descendants now. */
function tree(pid: number): number[] {
  const ppid = parents();
  const found = [pid];
  for (let i = 0; i < found.length; i++) for (const [child, parent] of ppid) if (parent === found[i]) found.push(child);
  return found.filter((p) => existsSync(`/proc/${p}`));
}

/** A process that has exited but not been reaped is a zombie: gone for this purpose. */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/** Starts the README command through npx; resolves once it printed `ready`, with its PID and output. */
async function npx(args: string[], ready: RegExp): Promise<{ proc: ChildProcess; output: () => string }> {
  const proc = spawn('npx', ['dynasplit', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DYNASPLIT_CACHE_DIR: zoo } });
  started.push(proc);
  let text = '';
  proc.stdout!.on('data', (c: Buffer) => void (text += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => void (text += c.toString()));
  await vi.waitFor(() => {
    if (proc.exitCode !== null) throw new Error(`exited: ${text}`);
    expect(text).toMatch(ready);
  }, { timeout: 60_000, interval: 100 });
  return { proc, output: () => text };
}

it('SIGTERM to npx ends the broker, a cloud worker and an edge node: nothing of their trees is left', async () => {
  const port = await freePort();
  const mqtt = ['--mqtt', mosquitto.url];
  const model = ['--model', `vgg16-tiny=${join(zoo, 'vgg16-tiny.onnx')}`];
  const commands = await Promise.all([
    npx(['broker', '--host', '127.0.0.1', '--port', String(port)], /broker listening/),
    npx(['cloud', ...mqtt, ...model], /cloud worker serving/),
    npx(['edge', ...mqtt, ...model], /edge node serving/),
  ]);
  const trees = commands.map((c) => tree(c.proc.pid!));
  trees.flat().forEach((pid) => seen.add(pid));
  // npx, npm's shell and the node at least: the process the signal must reach is not the one it is sent to.
  for (const t of trees) expect(t.length).toBeGreaterThanOrEqual(2);
  for (const c of commands) c.proc.kill('SIGTERM');
  await vi.waitFor(() => {
    for (const [i, t] of trees.entries()) expect(t.filter(alive), `left of command ${i}:\n${commands[i]!.output()}`).toEqual([]);
  }, { timeout: 30_000, interval: 100 });
  // The nodes stopped as on a signal, closing what they had opened.
  expect(commands[1]!.output()).toMatch(/cloud worker closed/);
  expect(commands[2]!.output()).toMatch(/edge node closed/);
}, 120_000);

it('a node whose launcher exits stops, unless DYNASPLIT_DETACHED=1 says it runs on by itself', async () => {
  // Two brokers started in the background by shells that exit once the broker listens: the node outlives its launcher.
  const launch = async (detached: boolean) => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'dynasplit-detached-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const log = join(dir, 'broker.log');
    const env = { ...process.env, ...(detached ? { DYNASPLIT_DETACHED: '1' } : {}) };
    // The shell waits on its stdin, so the node starts with the shell as its launcher.
    const shell = spawn('sh', ['-c', `node bin/dynasplit.js broker --host 127.0.0.1 --port ${port} >${log} 2>&1 & echo $!; read _`],
      { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'inherit'] });
    started.push(shell);
    let out = '';
    shell.stdout!.on('data', (c: Buffer) => void (out += c.toString()));
    await vi.waitFor(() => expect(existsSync(log) && readFileSync(log, 'utf8')).toMatch(/broker listening/), { timeout: 30_000, interval: 50 });
    const exited = new Promise((resolve) => shell.on('exit', resolve));
    shell.stdin!.end();
    await exited;
    const pid = Number(out.trim());
    seen.add(pid);
    return pid;
  };
  const [watched, detached] = await Promise.all([launch(false), launch(true)]);
  // The watched one notices within its 250 ms watch; the detached one, whose shell exited as early, is still there then.
  await vi.waitFor(() => expect(alive(watched), 'the watched node to stop').toBe(false), { timeout: 30_000, interval: 50 });
  expect(alive(detached)).toBe(true);
  process.kill(detached, 'SIGTERM');
  await vi.waitFor(() => expect(alive(detached)).toBe(false), { timeout: 30_000, interval: 50 });
}, 60_000);
