import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommandArgs, type Io } from '../../../cli/command.ts';
import { evalCommands } from '../../../cli/eval-commands.ts';
import { STRATEGY_NAMES } from '../../../eval/index.ts';
import { poolRow, writePool } from '../../../pareto/index.ts';

const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-eval-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const pool = join(scratch, 'pool.csv');
writeFileSync(pool, writePool([
  poolRow({ model: 'm', configuration: 'cloud-only/fp32', cut: 'input', latencyMs: 50, energyJ: 2, accuracy: 1, baseline: 'cloud-only' }),
  poolRow({ model: 'm', configuration: 'cloud-only/fp32', cut: 'input', latencyMs: 60, energyJ: 2.2, accuracy: 1, baseline: 'cloud-only' }),
  poolRow({ model: 'm', configuration: 'edge-only', cut: 'output', latencyMs: 400, energyJ: 1, accuracy: 1, baseline: 'edge-only' }),
  poolRow({ model: 'm', configuration: 'split@x/int8', cut: 'x', latencyMs: 150, energyJ: 1.5, accuracy: 0.98 }),
]));
const budgetFile = join(scratch, 'budgets.txt');
writeFileSync(budgetFile, '1000\n100\n200\n');

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const command = evalCommands.find((c) => c.path[1] === argv[0])!;
  let out = '';
  let err = '';
  const io: Io = { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, isTTY: false };
  const code = await command.run(parseCommandArgs(command, argv.slice(1)), io);
  return { code, out, err };
}

describe('dynasplit eval simulate', () => {
  it('prints { strategies: { name: figures } } with --json, one request per budget line', async () => {
    const r = await run('simulate', '--pool', pool, '--budgets', budgetFile, '--strategies', 'dynasplit,cloud-only', '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out);
    expect(Object.keys(json)).toEqual(['strategies']);
    expect(Object.keys(json.strategies)).toEqual(['dynasplit', 'cloud-only']);
    // Budgets 1000, 100, 200: edge-only, cloud-only, split.
    expect(json.strategies.dynasplit).toEqual({
      requests: 3, meanEnergyJ: expect.any(Number), medianEnergyJ: 1.5, budgetMetRate: 1, meanLatencyMs: expect.any(Number),
      p95LatencyMs: 400, meanAccuracy: expect.closeTo((1 + 1 + 0.98) / 3, 12), savingsVsCloudOnly: expect.any(Number),
      configurations: { 'edge-only': 1, 'cloud-only/fp32': 1, 'split@x/int8': 1 },
    });
    expect(json.strategies['cloud-only'].savingsVsCloudOnly).toBe(0);
  });

  it('prints a table of every strategy (all by default) and each one\'s configuration mix', async () => {
    const r = await run('simulate', '--pool', pool, '--budgets', 'weibull:2', '--requests', '500', '--seed', '4');
    expect(r.out).toContain('500 requests;');
    for (const name of STRATEGY_NAMES) expect(r.out).toMatch(new RegExp(`^${name}\\s+\\d`, 'm'));
    expect(r.out).toMatch(/^oracle: configuration\s+requests\s+share$/m);
    expect(r.err).toBe('');
  });

  it('cycles a budget file when --requests asks for more, and is reproducible per seed', async () => {
    const a = await run('simulate', '--pool', pool, '--budgets', `file:${budgetFile}`, '--requests', '6', '--strategies', 'dynasplit', '--json');
    expect(JSON.parse(a.out).strategies.dynasplit.configurations).toEqual({ 'edge-only': 2, 'cloud-only/fp32': 2, 'split@x/int8': 2 });
    const once = await run('simulate', '--pool', pool, '--budgets', 'uniform:50:500', '--requests', '2000', '--seed', '9', '--json');
    const again = await run('simulate', '--pool', pool, '--budgets', 'uniform:50:500', '--requests', '2000', '--seed', '9', '--json');
    expect(again.out).toBe(once.out);
  });

  it('adds queue waits with --edges/--workers/--rate', async () => {
    const r = await run('simulate', '--pool', pool, '--budgets', 'fixed:120', '--requests', '3000', '--strategies', 'cloud-only',
      '--edges', '4', '--workers', '1', '--rate', '5', '--json');
    const figures = JSON.parse(r.out).strategies['cloud-only'];
    expect(figures.meanQueueWaitMs).toBeGreaterThan(0);
    expect(figures.meanEdgeWaitMs).toBe(0);
    const text = (await run('simulate', '--pool', pool, '--budgets', 'fixed:120', '--requests', '100', '--edges', '2')).out;
    expect(text).toMatch(/queue ms\s+edge wait ms/);
  });

  it('shows progress on stderr for long runs, every 10%', async () => {
    const r = await run('simulate', '--pool', pool, '--budgets', 'fixed:100', '--requests', '100000', '--strategies', 'dynasplit');
    const lines = r.err.trim().split('\n');
    expect(lines.length).toBe(11);
    expect(lines.at(-1)).toMatch(/^simulate \[#{20}\] 100% 100,000\/100,000/);
  });

  it('refuses unknown strategies, distributions and missing flags with BAD_ARGS', async () => {
    await expect(run('simulate', '--pool', pool, '--budgets', 'fixed:1', '--strategies', 'dynasplit,best'))
      .rejects.toMatchObject({ code: 'DYNASPLIT_ERR_BAD_ARGS', message: expect.stringContaining(`strategies: ${STRATEGY_NAMES.join(', ')}`) });
    await expect(run('simulate', '--pool', pool, '--budgets', 'weibull:-1')).rejects.toMatchObject({ code: 'DYNASPLIT_ERR_BAD_ARGS' });
    await expect(run('simulate', '--pool', pool, '--budgets', join(scratch, 'none.txt'))).rejects.toMatchObject({ code: 'DYNASPLIT_ERR_FILE_NOT_FOUND' });
    await expect(run('simulate', '--budgets', 'fixed:1')).rejects.toThrow(/missing --pool/);
    await expect(run('simulate', '--pool', pool)).rejects.toThrow(/missing --budgets/);
  });
});
