/**
 * Ctrl-C in a long command, through the real `dynasplit` command in a child process: SIGINT is sent
 * once the command has shown its first progress line (read from its stderr, no timing), then the exit
 * code (130), the one closing line and what is left on disk are checked.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readPool } from '../../../pareto/index.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-interrupt-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Run { code: number | null; signal: string | null; stdout: string; stderr: string }

/** Runs dynasplit, sends SIGINT when a stderr line matches `when`, and resolves on exit. */
function interruptWhen(args: string[], when: RegExp, cache = join(scratch, 'cache')): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', DYNASPLIT_CACHE_DIR: cache, DYNASPLIT_LOG_LEVEL: 'error' };
    delete env.DYNASPLIT_MQTT_URL;
    const child = spawn(process.execPath, ['bin/dynasplit.js', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!sent && when.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const lastLine = (text: string) => text.trimEnd().split('\n').at(-1);

describe('Ctrl-C in a long command', () => {
  it('eval simulate stops within a step, prints no figures and says nothing was written', async () => {
    const run = await interruptWhen(
      ['eval', 'simulate', '--pool', 'docs/results/testbed/pool-vgg16.csv', '--budgets', 'weibull:2', '--requests', '200000000'], /^simulate \[/m);
    expect(run.code, run.stderr).toBe(130);
    expect(run.stdout).toBe('');
    expect(lastLine(run.stderr)).toBe('interrupted: nothing written');
    expect(run.stderr).not.toMatch(/error|DYNASPLIT_ERR/);
  }, 120_000);

  it('model gen stopped mid-weights leaves no file in --out; a later generation into the cache removes an abandoned one\'s folder', async () => {
    const out = join(scratch, 'gen');
    const run = await interruptWhen(['model', 'gen', 'vgg16', '--out', out], /generating vgg16 .* [1-9]\d*%/);
    expect(run.code, run.stderr).toBe(130);
    expect(lastLine(run.stderr)).toBe('interrupted: nothing written');
    expect(readdirSync(out)).toEqual([]);
    // A cache generation killed outright leaves its staging folder; the next one into that cache removes it.
    const cache = join(scratch, 'gen-cache');
    mkdirSync(join(cache, 'vgg16-tiny-seed0.tmp-999999999'), { recursive: true });
    const inspect = await interruptWhen(['model', 'inspect', 'vgg16-tiny'], /^$never/, cache);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(readdirSync(cache)).toEqual(['vgg16-tiny-seed0']);
  }, 120_000);

  it('eval report stopped between plots removes the plots it wrote and writes no report', async () => {
    const out = join(scratch, 'report');
    const run = await interruptWhen(['eval', 'report', '--input', 'docs/results/testbed/results-vgg16.json',
      '--input', 'docs/results/testbed/results-vit-b16.json', '--out', out], /^report: plots \[/m);
    expect(run.code, run.stderr).toBe(130);
    expect(run.stdout).toBe('');
    expect(lastLine(run.stderr)).toBe('interrupted: nothing written');
    expect(run.stderr).not.toMatch(/error|DYNASPLIT_ERR/);
    expect(readdirSync(out)).toEqual([]);
  }, 120_000);

  it('optimizer profile --local closes its pipeline and writes the runs so far to POOL.partial.csv, not POOL', async () => {
    const out = join(scratch, 'profile', 'pool.csv');
    const run = await interruptWhen(['optimizer', 'profile', '--local', '--model', 'vgg16-tiny', '--edge', 'rpi4', '--cloud', 'gpu-server',
      '--out', out, '--repetitions', '50', '--warmup', '0'], /^requests \[/m);
    const partial = join(scratch, 'profile', 'pool.partial.csv');
    expect(run.code, run.stderr).toBe(130);
    expect(lastLine(run.stderr)).toBe(`interrupted: wrote ${partial} (partial)`);
    expect(run.stderr).not.toMatch(/error|DYNASPLIT_ERR/);
    expect(existsSync(out)).toBe(false);
    const rows = readPool(readFileSync(partial, 'utf8'));
    expect(rows.length).toBeGreaterThan(0);
    // Measured runs only: nothing predicted from a sample cut short.
    expect(rows.every((r) => r.latencySource !== 'modelled')).toBe(true);
  }, 180_000);

  it('eval testbed shows the model\'s generation, and stopped in its strategies phase keeps the whole pool, writes no results and closes its pipeline', async () => {
    const out = join(scratch, 'testbed');
    const run = await interruptWhen(['eval', 'testbed', '--models', 'vgg16-tiny', '--requests', '200', '--repetitions', '1', '--warmup', '0',
      '--space', 'cuts=1;accelerators=none;codecs=fp32;cloud=gpu', '--strategies', 'cloud-only,edge-only,dynasplit', '--out', out],
    /strategies \(est\. work\) \[/, join(scratch, 'testbed-cache'));
    // The model is not in this cache yet: it is generated first, with a bar.
    expect(run.stderr).toMatch(/^generating vgg16-tiny \[#{20}\] 100% 256,690\/256,690/m);
    const pool = join(out, 'pool-vgg16-tiny.csv');
    expect(run.code, run.stderr).toBe(130);
    expect(lastLine(run.stderr)).toBe(`interrupted: wrote ${pool}`);
    expect(run.stderr).not.toMatch(/error|DYNASPLIT_ERR/);
    expect(readdirSync(out)).toEqual(['pool-vgg16-tiny.csv']);
    expect(readPool(readFileSync(pool, 'utf8')).length).toBeGreaterThan(0);
  }, 240_000);
});
