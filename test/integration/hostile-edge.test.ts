/**
 * An edge node process against a sensor with a valid login and hostile frames: fields past their
 * limits (a 1 MiB model name, a request id past the journal's 16-bit length), numbers out of range,
 * a forced configuration off the control channel, a flood of long-budget frames with the cloud
 * stalled. Each case ends with an unrelated sensor served normally and every frame the broker took
 * answered exactly once.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { ErrorCodes } from '../../common/index.ts';
import { Frame, Result, type FrameProperties } from '../../schemas/index.ts';
import { frame, inputs, resultSink, type ResultSink } from '../helpers/pipeline.ts';
import { spawnDynasplit } from '../../local-servers/index.ts';

const zoo = inject('zooDir');
const MODEL = 'vgg16-tiny';
const SHAPE = [1, 3, 32, 32];
const [x] = inputs(SHAPE, 1, 13);
const edgeArgs = (url: string, id: string, more: string[] = []) =>
  ['edge', '--id', id, '--mqtt', url, '--model', `${MODEL}=${join(zoo, `${MODEL}.onnx`)}`, '--threads', '1', '--log-level', 'info', ...more];

/** Every request id answered exactly once (the sink keeps every result it received, by id). */
function answeredOnce(sink: ResultSink, ids: string[]): void {
  for (const id of ids) expect(sink.byId.get(id)?.length, `answers to ${id.slice(0, 40)}`).toBe(1);
}

/** An unrelated sensor's frame, answered with a prediction. */
async function servedNormally(sink: ResultSink, sensor: string, id: string, budgetMs = 30_000): Promise<void> {
  await sink.publishFrame(sensor, frame(id, sensor, MODEL, SHAPE, x, budgetMs));
  await vi.waitFor(() => expect(sink.byId.has(id)).toBe(true), { timeout: 30_000, interval: 20 });
  const [result] = sink.byId.get(id)!;
  expect(result.error, result.error?.message ?? '').toBeFalsy();
  expect(result.top_k.length).toBeGreaterThan(0);
}

describe('limits, poison and privilege', () => {
  let broker: BrokerHandle;
  let cloud: CloudWorker;
  let sink: ResultSink;
  let stateDir: string;
  const HOSTILE = 'hostile-1';
  const BYSTANDER = 'bystander-1';

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'dynasplit-hostile-'));
    broker = await startBroker({ host: '127.0.0.1', port: 0 });
    cloud = await startCloudWorker({ workerId: 'hostile-cloud', mqttUrl: broker.url, models: { [MODEL]: join(zoo, `${MODEL}.onnx`) }, threads: 1 });
    sink = await resultSink(broker.url, [HOSTILE, BYSTANDER]);
  });

  afterAll(async () => {
    await sink?.close();
    await cloud?.close();
    await broker?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('answers every field past its limit with FIELD_LIMIT, echoing nothing past a limit, and keeps serving', async () => {
    const edge = spawnDynasplit(edgeArgs(broker.url, 'hostile-edge', ['--state-dir', stateDir]));
    try {
      await edge.waitFor(/edge node serving/);
      const base = (id: string): FrameProperties => frame(id, HOSTILE, MODEL, SHAPE, x, 30_000);
      const cases: [string, FrameProperties][] = [
        ['model-1mib', { ...base('model-1mib'), model: 'm'.repeat(1 << 20) }],
        ['sensor-id', { ...base('sensor-id'), sensor_id: 's'.repeat(1_000) }],
        ['nan-budget', { ...base('nan-budget'), budget_ms: Number.NaN }],
        ['huge-budget', { ...base('huge-budget'), budget_ms: 1e12 }],
        ['future-capture', { ...base('future-capture'), capture_at_ms: Date.now() + 86_400_000 }],
        ['accuracy-floor', { ...base('accuracy-floor'), accuracy_floor: Number.POSITIVE_INFINITY }],
        ['tensor-rank', { ...base('tensor-rank'), tensor: { ...base('x').tensor, shape: new Array(64).fill(1) } }],
        ['tensor-elements', { ...base('tensor-elements'), tensor: { ...base('x').tensor, shape: [1 << 20, 1 << 20] } }],
      ];
      const start = sink.all.length;
      for (const [, props] of cases) await sink.publishRaw(HOSTILE, Frame.encode(Frame.create(props)).finish());
      // The request id that overflowed the journal's 16-bit length: refused at its limit, unaddressable.
      await sink.publishFrame(HOSTILE, base('r'.repeat(70_000)));
      await sink.waitFor(start + cases.length + 1);
      for (const [id] of cases) {
        const [result] = sink.byId.get(id)!;
        expect(result.error?.code, id).toBe(ErrorCodes.FIELD_LIMIT);
        // What comes back is bounded: no 1 MiB model name, no long message.
        expect(Result.encode(result).finish().length, id).toBeLessThan(1_024);
      }
      expect(sink.byId.get('model-1mib')![0].model).toBe('');
      const unaddressed = sink.all.slice(start).filter((r) => r.request_id === '');
      expect(unaddressed.map((r) => r.error?.code)).toEqual([ErrorCodes.FIELD_LIMIT]);
      expect(Result.encode(unaddressed[0]).finish().length).toBeLessThan(1_024);
      answeredOnce(sink, cases.map(([id]) => id));
      await servedNormally(sink, BYSTANDER, 'bystander-after-limits');

      // Restarted on its journal: nothing of the above is replayed, no crash loop.
      edge.proc.kill('SIGKILL');
      await edge.exited;
    } finally {
      await edge.stop();
    }
    const again = spawnDynasplit(edgeArgs(broker.url, 'hostile-edge', ['--state-dir', stateDir]));
    try {
      await again.waitFor(/edge node serving/);
      await servedNormally(sink, BYSTANDER, 'bystander-after-restart');
      expect(again.proc.exitCode).toBeNull();
    } finally {
      await again.stop();
    }
  }, 120_000);

  it('a request id too long for the journal, let past the frame limits, is answered and never kills the node', async () => {
    const edge = spawnDynasplit(edgeArgs(broker.url, 'hostile-edge', ['--state-dir', stateDir, '--limit', 'requestIdBytes=100000']));
    try {
      await edge.waitFor(/edge node serving/);
      const poison = 'p'.repeat(70_000);
      await sink.publishFrame(HOSTILE, frame(poison, HOSTILE, MODEL, SHAPE, x, 30_000));
      await vi.waitFor(() => expect(sink.byId.has(poison)).toBe(true), { timeout: 30_000, interval: 20 });
      expect(sink.byId.get(poison)![0].error?.code).toBe(ErrorCodes.FIELD_LIMIT);
      answeredOnce(sink, [poison]);
      await servedNormally(sink, BYSTANDER, 'bystander-after-poison');
      expect(edge.proc.exitCode).toBeNull();
      expect(edge.output()).not.toMatch(/RangeError/);
    } finally {
      await edge.stop();
    }
  }, 120_000);

  it('a second edge on a state directory in use is refused before it connects or writes there; the running one serves on', async () => {
    const edge = spawnDynasplit(edgeArgs(broker.url, 'hostile-edge', ['--state-dir', stateDir]));
    try {
      await edge.waitFor(/edge node serving/);
      const second = spawnDynasplit(edgeArgs(broker.url, 'usurper-edge', ['--state-dir', stateDir]));
      expect(await second.exited).toBe(2); // a usage error (BAD_ARGS)
      expect(second.output()).toMatch(/DYNASPLIT_ERR_BAD_ARGS.*is in use by process/);
      // It neither renamed the directory's node nor took over its client ids on the broker.
      expect(readFileSync(join(stateDir, 'edge-id'), 'utf8').trim()).toBe('hostile-edge');
      expect(second.output()).not.toMatch(/usurper-edge.*announce|connected to/i);
      await servedNormally(sink, BYSTANDER, 'bystander-after-usurper');
      expect(edge.output()).not.toMatch(/connection lost/);
    } finally {
      await edge.stop();
    }
  }, 120_000);

  it('honours a forced configuration only on the control channel', async () => {
    const edge = spawnDynasplit(edgeArgs(broker.url, 'hostile-edge', ['--state-dir', stateDir]));
    try {
      await edge.waitFor(/edge node serving/);
      const forced = { ...frame('steer', HOSTILE, MODEL, SHAPE, x, 30_000), configuration: { cut: 'input', codec: 'fp32', edge_frequency_mhz: 600 } };
      // A sensor publishing on its own frame topic may not steer the node.
      await sink.publishRaw(HOSTILE, Frame.encode(Frame.create(forced)).finish());
      await vi.waitFor(() => expect(sink.byId.has('steer')).toBe(true), { timeout: 30_000, interval: 20 });
      expect(sink.byId.get('steer')![0].error?.code).toBe(ErrorCodes.FORBIDDEN);
      // The same on the control channel (publishFrame puts a forced frame there, as the profiler's FrameClient does).
      await sink.publishFrame(HOSTILE, { ...forced, request_id: 'steer-control', configuration: { cut: 'input', codec: 'fp32' } });
      await vi.waitFor(() => expect(sink.byId.has('steer-control')).toBe(true), { timeout: 30_000, interval: 20 });
      const [controlled] = sink.byId.get('steer-control')!;
      expect(controlled.error, controlled.error?.message ?? '').toBeFalsy();
      expect(controlled.configuration?.cut).toBe('input');
      answeredOnce(sink, ['steer', 'steer-control']);
      await servedNormally(sink, BYSTANDER, 'bystander-after-steer');
    } finally {
      await edge.stop();
    }
  }, 120_000);
});

describe('fair admission with the cloud stalled', () => {
  let broker: BrokerHandle;
  let sink: ResultSink;
  const FLOOD = 'flood-1';
  const CALM = 'calm-1';

  beforeAll(async () => {
    // No cloud worker: every tail request waits for its timeout (the budget), holding its slot.
    broker = await startBroker({ host: '127.0.0.1', port: 0 });
    sink = await resultSink(broker.url, [FLOOD, CALM, 'bystander-2']);
  });

  afterAll(async () => {
    await sink?.close();
    await broker?.close();
  });

  /**
   * A floods cloud-only frames of 8 s budget (on the control channel: this broker has no users file),
   * then B sends three of 4 s: what B gets.
   */
  async function floodThenCalm(tag: string, perSensor: number): Promise<Result[]> {
    const edge = spawnDynasplit(edgeArgs(broker.url, `fair-edge-${tag}`, ['--max-in-flight', '6', '--max-sensor-in-flight', String(perSensor)]));
    try {
      await edge.waitFor(/edge node serving/);
      const flood = Array.from({ length: 20 }, (_, i) => `${tag}-flood-${i}`);
      for (const id of flood) await sink.publishFrame(FLOOD, { ...frame(id, FLOOD, MODEL, SHAPE, x, 8_000), configuration: { cut: 'input', codec: 'fp32' } });
      const calm = [0, 1, 2].map((i) => `${tag}-calm-${i}`);
      for (const id of calm) await sink.publishFrame(CALM, frame(id, CALM, MODEL, SHAPE, x, 4_000));
      await vi.waitFor(() => expect([...flood, ...calm].every((id) => sink.byId.has(id))).toBe(true), { timeout: 60_000, interval: 50 });
      answeredOnce(sink, [...flood, ...calm]);
      // With the cloud still stalled, a short budget: a cloud wait falls back to the edge within it.
      await servedNormally(sink, 'bystander-2', `${tag}-bystander`, 2_000);
      return calm.map((id) => sink.byId.get(id)![0]);
    } finally {
      await edge.stop();
    }
  }

  it('one sensor flooding long-budget frames cannot take every slot: another sensor\'s frames are still served', async () => {
    const fair = await floodThenCalm('fair', 3);
    expect(fair.map((r) => r.error?.code ?? 'served')).toEqual(['served', 'served', 'served']);
    // The same flood with no per-sensor share (all 6 slots to one sensor): the calm sensor's frames wait past their budget.
    const unfair = await floodThenCalm('unfair', 6);
    expect(unfair.map((r) => r.error?.code)).toEqual([ErrorCodes.EXPIRED, ErrorCodes.EXPIRED, ErrorCodes.EXPIRED]);
  }, 180_000);
});
