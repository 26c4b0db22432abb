/**
 * A model with two inputs (test/fixtures/models/two-inputs.onnx, a torch export) profiled, run in the
 * testbed and demoed: each builds frames carrying every input of the model (workload/ syntheticFrames),
 * through the embedded pipeline they start (aedes, a cloud worker emulating a GPU server, an edge node
 * emulating a Raspberry Pi 4), with real ONNX inference. Few frames: the fixture is tiny.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/index.ts';
import { runTestbed } from '../../eval/testbed/index.ts';
import { EmbeddedMetricsStore } from '../../metrics/index.ts';
import { readPool } from '../../pareto/index.ts';
import { runCli } from '../helpers/cli.ts';

const MODEL = 'two-inputs';
const FILE = join(import.meta.dirname, '../fixtures/models/two-inputs.onnx');
/** A cut point after the inputs merge, besides cloud-only (both inputs cross) and edge-only. */
const CUT = '/head/head.0/Gemm_output_0';
const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-byom-profile-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const cli = runCli;

describe('a model with two inputs', () => {
  it('optimizer profile --local measures every configuration, and each split agrees with the unsplit model', async () => {
    const out = join(scratch, 'pool.csv');
    const { code, out: stdout, err } = await cli([
      'optimizer', 'profile', '--local', '--model', MODEL, '--model-file', FILE, '--edge', 'rpi4', '--cloud', 'gpu-server',
      '--cuts', `input,${CUT},output`, '--frequencies', '1800', '--threads', '4', '--accelerators', 'none', '--cloud-modes', 'gpu', '--codecs', 'fp32',
      '--warmup', '0', '--repetitions', '2', '--out', out, '--json',
    ]);
    expect(code, err).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.counts).toEqual({ configurations: 3, chosen: 3, measured: 3, predicted: 0, failed: 0 });
    expect(report.errors).toEqual({});
    const pool = readPool(readFileSync(out, 'utf8'));
    expect(pool).toHaveLength(6);
    expect(new Set(pool.map((r) => r.cut))).toEqual(new Set(['input', CUT, 'output']));
    // fp32 on the link: the split model's top-1 class is the unsplit model's on every frame.
    for (const row of pool) expect(row.accuracy, row.configuration).toBe(1);
    // Cloud-only sends both inputs: 3x32x32 and 4 float32 values, and the frame's framing.
    const cloudOnly = pool.find((r) => r.cut === 'input')!;
    expect(cloudOnly.tensorBytes).toBeGreaterThanOrEqual((3 * 32 * 32 + 4) * 4);
    expect(pool.find((r) => r.cut === CUT)!.tensorBytes).toBeLessThan(16 * 4 + 64);
  }, 120_000);

  it('optimizer profile binds open dims as the nodes do (the card\'s, and --dim over them) and judges a raw card\'s answers', async () => {
    const fcn = join(import.meta.dirname, '../fixtures/models/fcn-dynamic-hw.onnx');
    const args = (out: string, ...more: string[]) => [
      'optimizer', 'profile', '--local', '--model', 'fcn', '--model-file', fcn, '--edge', 'rpi4', '--cloud', 'gpu-server', '--cuts', 'input,output',
      '--frequencies', '1800', '--threads', '4', '--accelerators', 'none', '--cloud-modes', 'gpu', '--codecs', 'fp32', '--warmup', '0', '--repetitions', '1',
      '--out', join(scratch, out), '--json', ...more,
    ];
    // The card beside the file says height 24, width 40; --dim gives 32 x 48 to the profiler and the nodes alike.
    for (const [out, pixels, more] of [['card.csv', 24 * 40, []], ['dim.csv', 32 * 48, ['--dim', 'height=32', '--dim', 'width=48']]] as const) {
      const { code, err } = await cli(args(out, ...more));
      expect(code, err).toBe(0);
      const cloudOnly = readPool(readFileSync(join(scratch, out), 'utf8')).find((r) => r.cut === 'input')!;
      expect(cloudOnly.tensorBytes, out).toBeGreaterThanOrEqual(3 * pixels * 4);
      expect(cloudOnly.tensorBytes, out).toBeLessThan(3 * pixels * 4 + 256);
      // A raw card: no class_index; the argmax of the first output (the mask, whose top cell differs from
      // input to input here) is compared with the unsplit model's, and at fp32 every split agrees.
      for (const row of readPool(readFileSync(join(scratch, out), 'utf8'))) expect(row.accuracy, `${out} ${row.configuration}`).toBe(1);
    }
  }, 120_000);

  it('the testbed profiles it and serves every strategy on it', async () => {
    const metrics = new EmbeddedMetricsStore();
    try {
      const [outcome] = await runTestbed({
        models: { [MODEL]: FILE }, requests: 3, budgets: 'uniform:20000:30000', budgetsLabel: 'uniform:20000:30000', seed: 2, outDir: join(scratch, 'testbed'),
        edgeProfile: 'rpi4', cloudProfile: 'gpu-server', repetitions: 1, warmup: 1, space: 'cuts=1;accelerators=none;codecs=fp32;cloud=gpu',
        strategies: ['cloud-only', 'edge-only', 'dynasplit'], timeoutMs: 30_000,
      }, { logger: silentLogger(), metrics, io: { stderr: () => undefined, isTTY: false } });
      expect(outcome.figures.meta.profile).toMatchObject({ notRecorded: {}, unmeasured: [] });
      for (const [name, run] of Object.entries(outcome.figures.testbed)) {
        if (run.run === 'oracle') continue;
        expect(run.failures, name).toEqual({});
        expect(outcome.figures.strategies[name].requests, name).toBe(3);
        expect(outcome.figures.strategies[name].meanAccuracy, name).toBe(1);
      }
    } finally {
      await metrics.close();
    }
  }, 120_000);

  it('dynasplit demo --model FILE explores it and serves frames under the policy and the static strategies', async () => {
    const { code, out, err } = await cli(['demo', '--model', FILE, '--count', '2', '--repetitions', '1', '--budgets', 'uniform:20000:30000', '--json']);
    expect(code, err).toBe(0);
    const doc = JSON.parse(out);
    expect(doc.model).toBe(MODEL);
    expect(doc.exploration.runs).toBeGreaterThanOrEqual(doc.exploration.configurations);
    expect(Object.keys(doc.served)).toEqual(Object.keys(doc.strategies));
    for (const [name, served] of Object.entries(doc.served) as [string, { failures: Record<string, number> }][]) expect(served.failures, name).toEqual({});
    for (const [name, report] of Object.entries(doc.strategies) as [string, { requests: number }][]) expect(report.requests, name).toBe(2);
  }, 180_000);
});
