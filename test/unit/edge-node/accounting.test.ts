import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, inject, it, vi } from 'vitest';
import { ErrorCodes, silentLogger } from '../../../common/index.ts';
import { Accounting, combinedSource } from '../../../edge-node/accounting.ts';
import type { Outcome } from '../../../edge-node/execute.ts';
import type { Admitted } from '../../../edge-node/frames.ts';
import { createModelledMeter, idlePowerW, loadProfile, modelledJoules, type NodeHardware } from '../../../hardware/index.ts';
import { EmbeddedMetricsStore, type RequestMetric } from '../../../metrics/index.ts';
import { encodeTensor } from '../../../codec/index.ts';
import { argmax, DEFAULT_CARD, ModelStore, SessionCache } from '../../../model/index.ts';
import { defaultServedCard } from '../../../node-runtime/index.ts';
import { configuration, type Entry } from '../../../policy/index.ts';

const RPI = loadProfile('rpi4');
const options = { edgeId: 'e1', edgeClass: 'default', agreementSampleRate: 0, threads: 1 };
const entry: Entry = { configuration: configuration({ cut: 'c1', codec: 'fp16', edge_frequency_mhz: 1000 }), latencyMs: 0, latencyP95Ms: 0, energyJ: 0, accuracy: 0 };

/** Accounting over a modelled rpi4 meter: energy reads only `hardware.meter`, records only `metrics`. */
function accounting(metrics?: EmbeddedMetricsStore): Accounting {
  const hardware = { meter: createModelledMeter({ profile: RPI }) } as unknown as NodeHardware;
  return new Accounting(hardware, metrics, undefined as unknown as ModelStore, options, silentLogger());
}

function outcome(over: Partial<Outcome>): Outcome {
  return {
    outputs: {}, edgeComputeMs: 0, encodeMs: 0, transferMs: 0, roundTripMs: 0, unemulatedMs: 0, cloudQueueMs: 0, cloudDecodeMs: 0, cloudEncodeMs: 0,
    cloudComputeMs: 0, reconfigureMs: 0, waitMs: 0, tensorBytes: 0, workerId: '', edgeFallback: false, cloudEnergyJ: 0, cloudEnergySource: '',
    cloudLatencySource: '', ...over,
  };
}

const edgeJ = (computeMs: number, idleMs: number) => modelledJoules(RPI, { computeMs, idleMs, frequencyMhz: 1000 });

describe('edge accounting: energy', () => {
  it('charges idle power for the time the request held the edge beyond its compute and the host-only time', async () => {
    const a = accounting();
    const split = outcome({ edgeComputeMs: 20, unemulatedMs: 30, workerId: 'w', cloudEnergyJ: 0.7, cloudEnergySource: 'modelled' });
    const energy = await a.energy(a.start(), split, 100, entry);
    // 100 ms elapsed - 20 ms computing - 30 ms of host time no emulated device spends = 50 ms idle.
    expect(energy.edge_joules).toBeCloseTo(edgeJ(20, 50), 12);
    expect(energy.edge_joules! - edgeJ(20, 0)).toBeCloseTo(idlePowerW(RPI) * 50 / 1000, 12);
    expect(energy.cloud_joules).toBe(0.7);
    expect(energy.joules).toBeCloseTo(edgeJ(20, 50) + 0.7, 12);
    expect(energy.source).toBe('modelled');
  });

  it('never charges negative idle time when host-only time exceeds what is left', async () => {
    const a = accounting();
    const energy = await a.energy(a.start(), outcome({ edgeComputeMs: 20, unemulatedMs: 30 }), 40, entry);
    expect(energy.edge_joules).toBeCloseTo(edgeJ(20, 0), 12);
    expect(energy.joules).toBe(energy.edge_joules);
  });

  it('has no complete figure for an offloaded request whose worker did not meter; ignores cloud figures of an edge-only one', async () => {
    const a = accounting();
    const unmetered = await a.energy(a.start(), outcome({ edgeComputeMs: 10, workerId: 'w', cloudEnergyJ: 5, cloudEnergySource: '' }), 10, entry);
    expect(unmetered).toMatchObject({ source: '', cloud_joules: 0 });
    expect(unmetered.joules).toBeCloseTo(edgeJ(10, 0), 12);
    const local = await a.energy(a.start(), outcome({ edgeComputeMs: 10, cloudEnergyJ: 5, cloudEnergySource: 'measured' }), 10, entry);
    expect(local).toMatchObject({ source: 'modelled', cloud_joules: 0 });
  });

  it('combines sources to the weakest: modelled < emulated < measured; an empty side is no part', () => {
    expect(combinedSource('measured', 'modelled')).toBe('modelled');
    expect(combinedSource('emulated', 'measured')).toBe('emulated');
    expect(combinedSource('measured', 'measured')).toBe('measured');
    expect(combinedSource('', 'emulated')).toBe('emulated');
    expect(combinedSource('measured', '')).toBe('measured');
  });
});

describe('edge accounting: metrics', () => {
  it('records a link sample when a tensor crossed, and after a timeout (a lower bound), not after another fault', async () => {
    const metrics = new EmbeddedMetricsStore();
    const a = accounting(metrics);
    const result = { request_id: 'r', model: 'm', completed_at_ms: 1_000 };
    a.record(result, undefined, outcome({ tensorBytes: 4096, transferMs: 8, roundTripMs: 10, workerId: 'w' }));
    a.record(result, undefined, outcome({ tensorBytes: 4096, transferMs: 50, roundTripMs: 50, edgeFallback: true, fallbackCode: ErrorCodes.TIMEOUT }));
    a.record(result, undefined, outcome({ tensorBytes: 4096, transferMs: 1, roundTripMs: 1, edgeFallback: true, fallbackCode: ErrorCodes.TRANSPORT }));
    a.record(result, undefined, outcome({}));
    expect((await metrics.linkStats({ sinceMs: 0, edgeId: 'e1' })).samples).toBe(2);
    expect(metrics.stats().written).toBe(4 + 2);
  });
});

describe('edge accounting: top-1 agreement on sampled requests', () => {
  const zoo = inject('zooDir');
  const cut = 'features.pool3';

  /** A real store serving vgg16-tiny, an admitted request, and the head's cut tensor for it. */
  async function rig() {
    const sessions = new SessionCache({ threads: 1 });
    const models = new ModelStore({ workDir: mkdtempSync(join(tmpdir(), 'dynasplit-agreement-')), sessions });
    const served = await models.add('vgg16-tiny', join(zoo, 'vgg16-tiny.onnx'));
    const input = new ort.Tensor('float32', Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i)), [1, 3, 32, 32]);
    const inputs = { [served.inputName]: input };
    const cutTensors = await models.runAll('vgg16-tiny', 'head', cut, inputs);
    const logits = Object.values(await models.runAll('vgg16-tiny', 'tail', cut, cutTensors))[0];
    const req = { model: 'vgg16-tiny', inputs, card: defaultServedCard(served.inputs) } as unknown as Admitted;
    return { sessions, models, req, cutTensors, classIndex: argmax(logits.data as Float32Array) };
  }

  /** Accounting that checks every request's agreement, and the request metrics it writes. */
  function checkingEvery(store: ModelStore) {
    const points: RequestMetric[] = [];
    const metrics = new (class extends EmbeddedMetricsStore {
      override writeRequest(m: RequestMetric): void { points.push(m); super.writeRequest(m); }
    })();
    const hardware = { meter: createModelledMeter({ profile: RPI }) } as unknown as NodeHardware;
    return { a: new Accounting(hardware, metrics, store, { ...options, agreementSampleRate: 1 }, silentLogger()), points };
  }

  it('compares with the edge\'s tail over the head\'s own cut tensor, in a worker-thread tail session (no whole-model session)', async () => {
    const { sessions, models, req, cutTensors, classIndex } = await rig();
    try {
      const { a, points } = checkingEvery(models);
      const loads = sessions.stats().loads;
      const result = (i: number, index: number) => ({ request_id: `r${i}`, model: 'vgg16-tiny', completed_at_ms: 1_000 + i, class_index: index,
        top_k: [{ index, score: 1 }], configuration: configuration({ cut, codec: 'fp32' }) });
      a.record(result(1, classIndex), req, outcome({ workerId: 'w', cutTensors }));
      a.record(result(2, (classIndex + 1) % 10), req, outcome({ workerId: 'w', cutTensors }));
      // The edge answered from the exact cut tensor itself (its tail after a fallback): nothing to run.
      a.record(result(3, classIndex), req, outcome({ edgeFallback: true }));
      await vi.waitFor(() => expect(points).toHaveLength(3));
      expect(points.sort((x, y) => x.timeMs - y.timeMs).map((p) => p.top1Agreement)).toEqual([1, 0, 1]);
      // The threads the edge ran with (the node's, the configuration setting none), not the configuration's 0.
      expect(points.map((p) => p.threads)).toEqual([1, 1, 1]);
      // One session more, the tail's in a worker thread (the event loop keeps serving while it runs), shared by both checks.
      expect(sessions.stats()).toMatchObject({ loads: loads + 1, workerSessions: 1, evictions: 0 });
    } finally {
      models.removeParts();
      await sessions.close();
    }
  });

  it('judges a raw card\'s result by its first output, as verify and profiling do', async () => {
    const { sessions, models, req, cutTensors } = await rig();
    try {
      const { a, points } = checkingEvery(models);
      const raw = { ...req, card: { ...req.card, loaded: { card: { ...DEFAULT_CARD, output: { kind: 'raw' } } } } } as unknown as Admitted;
      const [name, logits] = Object.entries(await models.runAll('vgg16-tiny', 'tail', cut, cutTensors))[0];
      const values = logits.data as Float32Array;
      // The same logits, and the same logits shifted by one class (another top-1).
      const shifted = Float32Array.from(values, (_, i) => values[(i + values.length - 1) % values.length]);
      const result = (i: number, data: Float32Array) => ({ request_id: `r${i}`, model: 'vgg16-tiny', completed_at_ms: 1_000 + i,
        outputs: [encodeTensor({ name, shape: [...logits.dims], data }, 'fp32')], configuration: configuration({ cut, codec: 'fp32' }) });
      a.record(result(1, values), raw, outcome({ workerId: 'w', cutTensors }));
      a.record(result(2, shifted), raw, outcome({ workerId: 'w', cutTensors }));
      await vi.waitFor(() => expect(points).toHaveLength(2));
      expect(points.sort((x, y) => x.timeMs - y.timeMs).map((p) => p.top1Agreement)).toEqual([1, 0]);
    } finally {
      models.removeParts();
      await sessions.close();
    }
  });

  it('leaves a sample unchecked rather than evict a session for its tail', async () => {
    const { sessions, models, req, cutTensors, classIndex } = await rig();
    const tight = new SessionCache({ threads: 1, memoryBudgetBytes: sessions.stats().bytes });
    const store = new ModelStore({ workDir: mkdtempSync(join(tmpdir(), 'dynasplit-agreement-')), sessions: tight });
    try {
      await store.add('vgg16-tiny', join(zoo, 'vgg16-tiny.onnx'));
      // The budget holds the head and the main-thread tail the request path uses, and nothing more.
      for (const part of ['head', 'tail'] as const) (await store.session('vgg16-tiny', part, cut)).release();
      const before = tight.stats();
      expect(before.bytes).toBe(before.budgetBytes);
      const { a, points } = checkingEvery(store);
      a.record({ request_id: 'r1', model: 'vgg16-tiny', completed_at_ms: 1_000, class_index: classIndex, top_k: [{ index: classIndex, score: 1 }],
        configuration: configuration({ cut, codec: 'fp32' }) }, req, outcome({ workerId: 'w', cutTensors }));
      await vi.waitFor(() => expect(points).toHaveLength(1));
      expect(points[0].top1Agreement).toBeUndefined();
      expect(tight.stats()).toMatchObject({ sessions: 2, evictions: 0, loads: before.loads, workerSessions: 0 });
    } finally {
      store.removeParts();
      models.removeParts();
      await tight.close();
      await sessions.close();
    }
  });
});
