/**
 * Profiling through the control channel against the real pipeline: aedes broker, cloud worker
 * emulating a GPU server and edge node emulating a Raspberry Pi 4 in this process, on ephemeral
 * ports; frames force configurations, Results become pool rows; a sample predicts the rest.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { ErrorCodes } from '../../common/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import { loadProfile } from '../../hardware/index.ts';
import { inspectModel } from '../../model/index.ts';
import { buildSpace, cutsFromInspection, profileCheck, readPool, searchRuns, writePool } from '../../pareto/index.ts';
import { measureConfigurations } from '../../optimizer/index.ts';
import { configuration } from '../../policy/index.ts';
import { resultSink, type ResultSink } from '../helpers/pipeline.ts';
import { runCli } from '../helpers/cli.ts';

const MODEL = 'vgg16-tiny';
const zoo = inject('zooDir');
const modelPath = () => join(zoo, `${MODEL}.onnx`);
const unique = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;
const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-profile-'));

let broker: BrokerHandle;
let cloud: CloudWorker;
let edge: EdgeNode;

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  const models = { [MODEL]: modelPath() };
  cloud = await startCloudWorker({ workerId: unique('cloud'), mqttUrl: broker.url, models, threads: 1, profile: 'gpu-server' });
  edge = await startEdgeNode({ edgeId: unique('edge'), mqttUrl: broker.url, models, threads: 1, profile: 'rpi4' });
});

afterAll(async () => {
  await edge?.close();
  await cloud?.close();
  await broker?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const base = () => ({ mqttUrl: broker.url, model: MODEL, modelSource: modelPath(), edge: 'rpi4', cloud: 'gpu-server' });

const cli = runCli;

describe('profiling through the control channel', () => {
  it('measures every configuration of a restricted space `repetitions` times; the pool feeds optimizer front', async () => {
    const sensorId = unique('profiler');
    // A second subscriber on the profiler's result topic sees what the edge node really ran.
    const sink: ResultSink = await resultSink(broker.url, [sensorId]);
    const progress: [number, number, number][] = [];
    try {
      const report = await measureConfigurations({
        ...base(), sensorId, cuts: ['input', 'features.pool2', 'output'], warmup: 1, repetitions: 2,
        knobs: { frequenciesMhz: [600, 1800], threads: [4], accelerators: ['none'], cloudModes: ['gpu'], codecs: ['fp32', 'int8'] },
      }, { onProgress: (done, total, eta) => progress.push([done, total, eta]) });
      // input and the split: 2 frequencies x 2 codecs each; edge-only: 2 frequencies, no codec.
      expect(report.counts).toEqual({ configurations: 10, chosen: 10, measured: 10, predicted: 0, failed: 0 });
      expect(report.errors).toEqual({});
      expect(report.heldOut).toBeUndefined();
      const runs = new Map<string, number>();
      for (const row of report.measured) runs.set(row.configuration, (runs.get(row.configuration) ?? 0) + 1);
      expect([...runs.values()]).toEqual(Array(10).fill(2));
      for (const row of report.measured) {
        // Compute times are dilated to the emulated devices', energy comes from their profiles.
        expect(row.latencySource).toBe('emulated');
        expect(row.energySource).toBe('modelled');
        expect(row.latencyMs).toBeGreaterThan(0);
        expect(row.energyJ).toBeGreaterThan(0);
        expect([0, 1]).toContain(row.accuracy);
        if (row.cut !== 'output') expect(row.tensorBytes).toBeGreaterThan(0);
        if (row.codec === 'fp32' || row.cut === 'output') expect(row.accuracy).toBe(1);
      }
      expect(progress.at(-1)!.slice(0, 2)).toEqual([30, 30]);
      expect(progress.every(([done, total]) => done <= total)).toBe(true);
      await sink.waitFor(30);
      const ran = new Map<string, number>();
      for (const r of sink.all) ran.set(r.configuration!.name!, (ran.get(r.configuration!.name!) ?? 0) + 1);
      expect([...ran.keys()].sort()).toEqual([...runs.keys()].sort());
      expect([...ran.values()]).toEqual(Array(10).fill(3));
      const pool = join(scratch, 'restricted.csv');
      writeFileSync(pool, writePool(report.measured));
      const front = JSON.parse((await cli(['optimizer', 'front', pool, '--json'])).out);
      expect(front).toMatchObject({ model: MODEL, configurations: 10, runs: 20 });
      expect(front.front.length).toBeGreaterThan(0);
    } finally {
      await sink.close();
    }
  });

  it('with sample 0.5 measures half, predicts the rest (modelled) and reports a finite held-out error', async () => {
    const report = await measureConfigurations({
      ...base(), sample: 0.5, warmup: 1, repetitions: 1, seed: 3,
      cuts: ['input', 'features.pool1', 'features.pool2', 'features.pool3', 'features.pool4', 'output'],
      knobs: { frequenciesMhz: [600, 1200, 1800], threads: [1, 4], accelerators: ['none'], cloudModes: ['gpu'], codecs: ['fp32', 'int8'] },
    });
    // input 3 x 2, four splits 3 x 2 x 2 each, edge-only 3 x 2 threads.
    expect(report.counts).toMatchObject({ configurations: 60, chosen: 30, measured: 30, predicted: 30, failed: 0 });
    const measuredNames = new Set(report.measured.map((r) => r.configuration));
    const predictedNames = new Set(report.predicted.map((r) => r.configuration));
    expect(measuredNames.size).toBe(30);
    expect(predictedNames.size).toBe(30);
    expect([...predictedNames].some((n) => measuredNames.has(n))).toBe(false);
    expect(report.predicted.every((r) => r.latencySource === 'modelled' && r.energySource === 'modelled')).toBe(true);
    expect(report.measured.every((r) => r.latencySource !== 'modelled')).toBe(true);
    expect(report.predicted.every((r) => r.latencyMs > 0 && r.energyJ > 0 && r.accuracy > 0)).toBe(true);
    const held = report.heldOut!;
    expect(held).toMatchObject({ count: 6, fittedOn: 24 });
    for (const figure of [held.latencyMedianPct, held.latencyP90Pct, held.energyMedianPct, held.energyP90Pct]) expect(Number.isFinite(figure)).toBe(true);
    expect(held.latencyP90Pct).toBeGreaterThanOrEqual(held.latencyMedianPct);
    expect(held.energyP90Pct).toBeGreaterThanOrEqual(held.energyMedianPct);
    expect(report.fitted!.link.bandwidthMbps).toBeGreaterThan(0);
    // What the pool file holds reads back with the sources kept apart.
    const rows = readPool(writePool([...report.measured, ...report.predicted]));
    expect(rows.filter((r) => r.latencySource === 'modelled')).toHaveLength(30);
  });

  it('with a search budget, the search chooses what to measure as the runs come in; the rest is predicted', async () => {
    const cuts = ['input', 'features.pool1', 'features.pool2', 'features.pool3', 'features.pool4', 'output'];
    const knobs = { frequenciesMhz: [600, 1200, 1800], threads: [1, 4], accelerators: ['none'], cloudModes: ['gpu'], codecs: ['fp32', 'int8'] };
    const report = await measureConfigurations({ ...base(), search: { budget: '25%', strategy: 'model' }, warmup: 0, repetitions: 1, seed: 2, cuts, knobs });
    expect(report.counts).toMatchObject({ configurations: 60, chosen: 15, measured: 15, predicted: 45, failed: 0 });
    expect(report.predicted.every((r) => r.latencySource === 'modelled')).toBe(true);
    // The same search replayed over what was recorded asks for the same configurations, in the same order.
    const order = [...new Set(report.measured.map((r) => r.configuration))];
    const all = cutsFromInspection(await inspectModel(modelPath())).filter((c) => cuts.includes(c.name));
    const space = buildSpace(all, knobs, profileCheck(loadProfile('rpi4')));
    const replay = await searchRuns(space, async (config) => report.measured.filter((r) => r.configuration === config.name), { budget: 15, strategy: 'model', seed: 2 });
    expect(replay.measured.map((m) => m.config.name)).toEqual(order);
    await expect(measureConfigurations({ ...base(), search: { budget: '25%', strategy: 'model' }, sample: 0.5 })).rejects.toMatchObject({ code: ErrorCodes.BAD_ARGS });
  });

  it('reports a configuration the edge cannot run as an error, not a measurement', async () => {
    const good = configuration({ cut: 'output', edge_frequency_mhz: 1800, edge_threads: 1 });
    const bad = configuration({ cut: 'features.pool2', codec: 'fp16', edge_frequency_mhz: 700, edge_threads: 1, cloud_accelerator: 'gpu' });
    const report = await measureConfigurations({ ...base(), configurations: [good, bad], warmup: 1, repetitions: 2 });
    expect(report.counts).toMatchObject({ configurations: 2, measured: 1, failed: 1 });
    expect(report.measured.map((r) => r.configuration)).toEqual([good.name, good.name]);
    expect(report.errors).toEqual({ [ErrorCodes.BAD_ARGS]: 1 });
    expect(report.failed).toEqual([{ configuration: bad.name, code: ErrorCodes.BAD_ARGS, message: expect.stringMatching(/700 MHz/) }]);
  });

  it('counts error results by code, and a request nobody answers as a timeout', async () => {
    const config = configuration({ cut: 'output', edge_frequency_mhz: 1800 });
    const unknown = await measureConfigurations({ ...base(), model: 'not-served', configurations: [config], warmup: 0, repetitions: 3 });
    // Not retryable: the rest of the configuration's runs are not sent.
    expect(unknown.counts.measured).toBe(0);
    expect(unknown.errors).toEqual({ [ErrorCodes.UNKNOWN_MODEL]: 1 });
    expect(unknown.requests).toBe(1);
    const empty = await startBroker({ host: '127.0.0.1', port: 0 });
    try {
      const silent = await measureConfigurations({ ...base(), mqttUrl: empty.url, configurations: [config], warmup: 0, repetitions: 3, timeoutMs: 200 });
      // Retryable: one more try, then the configuration is given up.
      expect(silent.errors).toEqual({ [ErrorCodes.TIMEOUT]: 2 });
      expect(silent.failed).toEqual([{ configuration: config.name, code: ErrorCodes.TIMEOUT, message: 'no result within 200 ms' }]);
    } finally {
      await empty.close();
    }
  });

  it('stops when asked, with what it measured so far', async () => {
    const abort = new AbortController();
    const report = await measureConfigurations({ ...base(), cuts: ['output'], knobs: { frequenciesMhz: [600, 1200, 1800], threads: [1], accelerators: ['none'] }, warmup: 0, repetitions: 2 }, {
      signal: abort.signal,
      onProgress: (done) => { if (done === 3) abort.abort(); },
    });
    expect(report.aborted).toBe(true);
    expect(report.requests).toBe(3);
    expect(report.counts).toMatchObject({ configurations: 3, chosen: 3, measured: 2 });
    expect(report.measured).toHaveLength(3);
  });
});

describe('dynasplit optimizer profile --local', () => {
  it('profiles an embedded pipeline and writes a pool file', async () => {
    const out = join(scratch, 'local.csv');
    const { code, out: stdout, err } = await cli(['optimizer', 'profile',
      '--local', '--model', MODEL, '--model-file', modelPath(), '--edge', 'rpi4', '--cloud', 'gpu-server', '--cuts', 'input,features.pool3,output',
      '--frequencies', '1800', '--threads', '4', '--accelerators', 'none', '--cloud-modes', 'gpu', '--codecs', 'fp32,fp16',
      '--repetitions', '2', '--sample', '0.6', '--out', out, '--json',
    ]);
    expect(code).toBe(0);
    expect(err).toContain('requests [');
    const report = JSON.parse(stdout);
    // input x 2 codecs, the split x 2 codecs, edge-only: 5; 0.6 of them measured.
    expect(report.counts).toMatchObject({ configurations: 5, chosen: 3, measured: 3, predicted: 2 });
    const rows = readPool(readFileSync(out, 'utf8'));
    expect(rows).toHaveLength(3 * 2 + 2);
    expect(rows.filter((r) => r.latencySource === 'modelled')).toHaveLength(2);
  });

  it('asks for what it needs', async () => {
    const noOut = await cli(['optimizer', 'profile', '--model', MODEL, '--edge', 'rpi4', '--cloud', 'gpu-server']);
    expect(noOut).toMatchObject({ code: 2, err: expect.stringMatching(/DYNASPLIT_ERR_BAD_ARGS: missing --out/) });
    const noEdge = await cli(['optimizer', 'profile', '--model', MODEL, '--out', 'x.csv', '--cloud', 'gpu-server']);
    expect(noEdge).toMatchObject({ code: 2, err: expect.stringMatching(/DYNASPLIT_ERR_BAD_ARGS: missing --edge/) });
  });
});
