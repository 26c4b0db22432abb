import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parseCommandArgs, type Io } from '../../../cli/command.ts';
import { optimizerCommands } from '../../../cli/optimizer-commands.ts';
import { aggregatePool, paretoFront, poolRow, readPool, writePool } from '../../../pareto/index.ts';

const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-optimizer-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const command = optimizerCommands.find((c) => c.path[1] === argv[0])!;
  let out = '';
  let err = '';
  const io: Io = { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, isTTY: false };
  const code = await command.run(parseCommandArgs(command, argv.slice(1)), io);
  return { code, out, err };
}

describe('dynasplit optimizer space', () => {
  const model = () => join(inject('zooDir'), 'vgg16-tiny.onnx');

  it('prints the size and the rules applied (knobs from flags)', async () => {
    const json = JSON.parse((await run('space', '--model', model(), '--json')).out);
    expect(json).toMatchObject({ cuts: 38, sizeBeforeRules: 38_304, size: 30_394, knobSource: { edge: 'flags', cloud: 'flags' }, radices: [38, 7, 4, 3, 6, 2] });
    expect(json.rules.map((r: { removed: number }) => r.removed)).toEqual([924, 924, 6062]);
    const text = (await run('space', '--model', model())).out;
    expect(text).toContain('38,304 configurations before rules, 30,394 after');
    expect(text).toContain('edge knobs from flags');
    expect(text).toMatch(/int8-token only for rank-3 \(token\) tensors\s+6,062/);
  });

  it('takes knob flags and an edge memory limit', async () => {
    const r = await run('space', '--model', model(), '--frequencies', '600,1800', '--threads', '1', '--accelerators', 'none',
      '--cloud-modes', 'gpu', '--codecs', 'fp32,fp16', '--edge-memory-mb', '0.5', '--json');
    const json = JSON.parse(r.out);
    expect(json.sizeBeforeRules).toBe(38 * 2 * 2);
    expect(json.rules.at(-1).rule).toBe(`head weights over the edge memory (${0.5 * 2 ** 20} bytes)`);
  });

  it('takes knobs and rules from device profiles; flags narrow them', async () => {
    const json = JSON.parse((await run('space', '--model', model(), '--edge', 'rpi4', '--cloud', 'gpu-server', '--json')).out);
    expect(json.knobSource).toEqual({ edge: 'rpi4', cloud: 'gpu-server' });
    expect(json.knobs).toMatchObject({ threads: [1, 2, 3, 4], accelerators: ['none', 'coral-usb:std', 'coral-usb:max'], cloudModes: ['cpu', 'gpu'] });
    // vgg16-tiny's 1 MB of weights fit the Pi and the TPU: only the structural rules remove anything.
    expect(json.size).toBe(30_394);
    const narrowed = JSON.parse((await run('space', '--model', model(), '--edge', 'rpi4', '--threads', '4', '--edge-memory-mb', '0.5', '--json')).out);
    expect(narrowed.knobs.threads).toEqual([4]);
    expect(narrowed.knobs.cloudModes).toEqual(['cpu', 'gpu']);
    expect(narrowed.knobSource).toEqual({ edge: 'rpi4', cloud: 'flags' });
    expect(narrowed.rules.at(-1).rule).toMatch(/head weights over the edge memory/);
    const text = (await run('space', '--model', model(), '--edge', 'rpi4')).out;
    expect(text).toContain('edge knobs from profile rpi4');
  });

  it('refuses unknown profiles and bad knob values', async () => {
    await expect(run('space', '--model', model(), '--edge', 'no-such-board')).rejects.toThrow(/unknown device profile 'no-such-board'/);
    await expect(run('space', '--model', model(), '--threads', '0')).rejects.toThrow(/--threads takes positive integers/);
    await expect(run('space')).rejects.toThrow(/missing --model/);
  });
});

describe('dynasplit optimizer import and front', () => {
  const csv = join(scratch, 'testbed runs.csv');
  writeFileSync(csv, '\ufeff' + [
    'Split Layer,CPU (MHz),"Latency (ms)",Energy (J),Accuracy',
    'features.pool3,1200,40,1.5,0.99',
    'features.pool3,1200,44,1.7,0.99',
    'input,1200,20,3,1',
    'output,600,120,1,1',
    'classifier.fc1,600,130,2,0.98',
  ].join('\r\n'));
  const importArgs = (out: string) => ['import', csv, '--config-columns', 'Split Layer,CPU (MHz)', '--latency-column', 'Latency (ms)',
    '--energy-column', 'Energy (J)', '--accuracy-column', 'accuracy', '--cloud-only', 'Split Layer=input', '--edge-only', 'Split Layer=output',
    '--map', 'cut=Split Layer', '--map', 'edge_frequency_mhz=CPU (MHz)', '--source', 'measured', '--out', out];

  it('imports a CSV into a pool and prints the front in policy order', async () => {
    const pool = join(scratch, 'pool.csv');
    const imported = await run(...importArgs(pool));
    expect(imported).toMatchObject({ code: 0, out: `imported 5 of 5 rows into ${pool}\n` });
    const rows = readPool(readFileSync(pool, 'utf8'));
    expect(rows[0]).toMatchObject({ model: 'testbed runs', cut: 'features.pool3', edgeFrequencyMhz: 1200, latencySource: 'measured' });
    const front = JSON.parse((await run('front', pool, '--json')).out);
    expect(front.front.map((p: { config: { cut: string } }) => p.config.cut)).toEqual(['output', 'features.pool3', 'input']);
    expect(front.front[1]).toEqual({
      config: expect.objectContaining({ name: 'Split Layer=features.pool3,CPU (MHz)=1200', cut: 'features.pool3', edge_frequency_mhz: 1200 }),
      latencyMs: 42, latencyP95Ms: 44, energyJ: 1.6, accuracy: 0.99, runs: 2,
    });
    const text = (await run('front', pool)).out;
    expect(text).toContain('4 configurations, 5 runs; front of 3 in policy order');
    expect(text).toContain('cloud-only baseline: Split Layer=input,CPU (MHz)=1200, 20.0 ms, 3.000 J');
    expect(text).toMatch(/Split Layer=output,CPU \(MHz\)=600\s+120\.0\s+120\.0\s+1\.000\s+1\.0000\s+1/);
  });

  it('reports rejected rows with their lines, exits 1 unless --skip-bad, and appends', async () => {
    const bad = join(scratch, 'bad.csv');
    writeFileSync(bad, 'k,lat,en\na,1,1\nb,x,1\nc,1,\n');
    const pool = join(scratch, 'bad-pool.csv');
    const args = ['import', bad, '--config-columns', 'k', '--latency-column', 'lat', '--energy-column', 'en', '--out', pool];
    const r = await run(...args);
    expect(r.code).toBe(1);
    expect(r.out).toBe(`imported 1 of 3 rows into ${pool}; rejected 2:\n  line 3: latency 'x' is not a non-negative number\n  line 4: energy '' is not a non-negative number\n`);
    expect(readPool(readFileSync(pool, 'utf8'))).toHaveLength(1);
    expect((await run(...args, '--skip-bad', '--append')).code).toBe(0);
    expect(readPool(readFileSync(pool, 'utf8'))).toHaveLength(2);
    const json = JSON.parse((await run(...args, '--json', '--max-errors', '1')).out);
    expect(json).toEqual({ out: pool, imported: 1, rejected: 2, errors: [{ line: 3, message: "latency 'x' is not a non-negative number" }] });
  });

  it('refuses unknown columns, bad --map fields and pools with several models', async () => {
    await expect(run('import', csv, '--config-columns', 'Layer', '--latency-column', 'Latency (ms)', '--energy-column', 'Energy (J)', '--out', join(scratch, 'x.csv')))
      .rejects.toThrow(/no column 'Layer' in the CSV; available: 'Split Layer', 'CPU \(MHz\)'/);
    await expect(run(...importArgs(join(scratch, 'y.csv')), '--map', 'speed=CPU (MHz)')).rejects.toThrow(/--map takes FIELD=COLUMN/);
    const mixed = join(scratch, 'mixed.csv');
    writeFileSync(mixed, writePool([poolRow({ model: 'a', configuration: 'x', latencyMs: 1, energyJ: 1 }), poolRow({ model: 'b', configuration: 'x', latencyMs: 1, energyJ: 1 })]));
    await expect(run('front', mixed)).rejects.toThrow(/several models \(a, b\); choose one with --model/);
    expect(JSON.parse((await run('front', mixed, '--model', 'b', '--json')).out).front).toHaveLength(1);
    await expect(run('front', join(scratch, 'missing.csv'))).rejects.toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_FILE_NOT_FOUND' }));
  });

  it('prints the same front the library computes', async () => {
    const rows = Array.from({ length: 60 }, (_, i) => poolRow({ model: 'm', configuration: `c${i % 20}`, latencyMs: (i * 37) % 50, energyJ: ((i * 11) % 13) / 4, accuracy: 1 - (i % 3) / 100 }));
    const pool = join(scratch, 'many.csv');
    writeFileSync(pool, writePool(rows));
    const json = JSON.parse((await run('front', pool, '--json')).out);
    expect(json.front.map((p: { config: { name: string } }) => p.config.name)).toEqual(paretoFront(aggregatePool(rows)).map((a) => a.configuration.name));
  });
});
