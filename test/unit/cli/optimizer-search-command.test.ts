import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommandArgs, type Command, type Io } from '../../../cli/command.ts';
import { evalCommands } from '../../../cli/eval-commands.ts';
import { optimizerCommands } from '../../../cli/optimizer-commands.ts';
import { aggregatePool, paretoFront, readPool } from '../../../pareto/index.ts';

const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-search-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const POOL = join(import.meta.dirname, '..', '..', '..', 'docs', 'results', 'testbed', 'pool-vit-b16.csv');

async function run(command: Command, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, isTTY: false };
  const code = await command.run(parseCommandArgs(command, argv), io);
  return { code, out, err };
}
const search = optimizerCommands.find((c) => c.path[1] === 'search')!;
const simulate = evalCommands.find((c) => c.path[1] === 'simulate')!;

describe('dynasplit optimizer search', () => {
  it('writes the sample, reports progress on stderr and a summary against the exact front', async () => {
    const out = join(scratch, 'sample.csv');
    const r = await run(search, '--pool', POOL, '--budget', '20%', '--strategy', 'model', '--seed', '3', '--out', out, '--json');
    expect(r.code).toBe(0);
    expect(r.err).toContain('search (model)');
    const summary = JSON.parse(r.out);
    // The pool's shape is fixed by the testbed's space; its front depends on the figures of the run.
    expect(summary).toMatchObject({ model: 'vit-b16', strategy: 'model', seed: 3, space: 117, poolConfigurations: 55, budget: 23 });
    expect(summary.exactFront).toBe(paretoFront(aggregatePool(readPool(readFileSync(POOL, 'utf8')))).length);
    expect(summary.exactFront).toBeGreaterThan(0);
    expect(summary.measured + summary.unmeasurable).toBe(23);
    const sample = aggregatePool(readPool(readFileSync(out, 'utf8')));
    expect(sample).toHaveLength(summary.measured);
    const pool = new Set(aggregatePool(readPool(readFileSync(POOL, 'utf8'))).map((a) => a.configuration.name));
    for (const a of sample) expect(pool.has(a.configuration.name)).toBe(true);
    expect(summary.hypervolumeRatio).toBeGreaterThan(0);
    const text = (await run(search, '--pool', POOL, '--budget', '5', '--strategy', 'random', '--out', join(scratch, 's5.csv'))).out;
    expect(text).toMatch(/budget 5: measured \d, unmeasurable \d/);
  });

  it('feeds eval simulate --front-from: only sampled configurations are scheduled', async () => {
    const out = join(scratch, 'sample-small.csv');
    await run(search, '--pool', POOL, '--budget', '8', '--strategy', 'nsga2', '--seed', '1', '--out', out);
    const sampled = new Set(readPool(readFileSync(out, 'utf8')).map((r) => r.configuration));
    const r = await run(simulate, '--pool', POOL, '--front-from', out, '--budgets', 'weibull:2', '--requests', '2000', '--strategies', 'dynasplit,oracle', '--json');
    const report = JSON.parse(r.out);
    for (const c of Object.keys(report.strategies.dynasplit.configurations)) expect(sampled.has(c)).toBe(true);
  });

  it('answers bad input with coded errors', async () => {
    const bad = (...argv: string[]) => run(search, ...argv).then(() => undefined, (e) => e.code);
    const out = join(scratch, 'x.csv');
    expect(await bad('--budget', '0.2', '--out', out)).toBe('DYNASPLIT_ERR_BAD_ARGS');
    expect(await bad('--pool', POOL, '--out', out)).toBe('DYNASPLIT_ERR_BAD_ARGS');
    expect(await bad('--pool', POOL, '--budget', '0.2')).toBe('DYNASPLIT_ERR_BAD_ARGS');
    expect(await bad('--pool', POOL, '--budget', '1.5', '--out', out)).toBe('DYNASPLIT_ERR_BAD_ARGS');
    expect(await bad('--pool', POOL, '--budget', '0.2', '--strategy', 'grid', '--out', out)).toBe('DYNASPLIT_ERR_BAD_ARGS');
    expect(await bad('--pool', POOL, '--budget', '0.2', '--model', 'resnet', '--out', out)).toBe('DYNASPLIT_ERR_BAD_ARGS');
    expect(await bad('--pool', join(scratch, 'missing.csv'), '--budget', '0.2', '--out', out)).toBe('DYNASPLIT_ERR_FILE_NOT_FOUND');
  });
});
