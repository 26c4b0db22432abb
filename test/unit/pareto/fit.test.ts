import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ErrorCodes } from '../../../common/index.ts';
import { loadProfile } from '../../../hardware/index.ts';
import { inspectModel } from '../../../model/index.ts';
import { buildSpace, configurationAt, cutsFromInspection, knobsFromProfiles, poolRow, accuracyByCodec, configurationFields, expected, fitModel, heldOutError, predictedRow, sampleCount, sampleIndices, unpredictable, type FittedModel, type Measured, type ModelContext } from '../../../pareto/index.ts';
import { configuration, type Configuration } from '../../../policy/index.ts';

let ctx: ModelContext;
let space: Configuration[];

beforeAll(async () => {
  const inspection = await inspectModel(join(inject('zooDir'), 'vgg16-tiny.onnx'));
  const edge = loadProfile('rpi4');
  const cloud = loadProfile('gpu-server');
  ctx = { inspection, edge, cloud };
  const keep = ['input', 'features.pool1', 'features.pool2', 'features.pool3', 'features.pool4', 'classifier.fc1', 'output'];
  const cuts = cutsFromInspection(inspection).filter((c) => keep.includes(c.name));
  const built = buildSpace(cuts, { ...knobsFromProfiles(edge, cloud), frequenciesMhz: [600, 1200, 1800], threads: [1, 4], accelerators: ['none'], codecs: ['fp32', 'fp16', 'int8'] });
  space = Array.from(built.indices, (i) => configurationAt(built, i));
});

const TRUTH: FittedModel = {
  corrections: { edge: 1.7, cloud: 4, transfer: 1, energy: 1.3 },
  fixed: { edgeFlops: 2e6, cloudMs: 0.4 },
  link: { bandwidthMbps: 40, rttMs: 3 },
  overheadMs: { local: 0.8, offloaded: 1.5 },
};

/** Runs as the truth says they cost, each scaled by `noise(i)` (1 = exact). */
function measure(configs: Configuration[], noise: (i: number) => number = () => 1): Measured[] {
  let i = 0;
  return configs.map((config) => {
    const rows = [0, 1, 2].map(() => {
      const p = expected(config, ctx, TRUTH);
      const k = noise(i++);
      return poolRow({
        ...configurationFields('m', config), latencyMs: p.latencyMs * k, energyJ: p.energyJ * k, accuracy: config.codec === 'int8' ? 0.5 : 1,
        edgeComputeMs: p.edgeComputeMs * k, transferMs: p.transferMs * k, cloudComputeMs: p.cloudComputeMs * k, tensorBytes: p.tensorBytes,
        latencySource: 'emulated', energySource: 'modelled',
      });
    });
    return { config, rows };
  });
}

describe('sampling', () => {
  it('chooses distinct indices, ascending, the same for the same seed', () => {
    const a = sampleIndices(100, 20, 7, 's');
    expect(a).toHaveLength(20);
    expect(new Set(a).size).toBe(20);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
    expect(a.every((i) => i >= 0 && i < 100)).toBe(true);
    expect(sampleIndices(100, 20, 7, 's')).toEqual(a);
    expect(sampleIndices(100, 20, 8, 's')).not.toEqual(a);
    expect(sampleIndices(5, 9, 1, 's')).toEqual([0, 1, 2, 3, 4]);
  });

  it('measures at least two configurations of a sample (one to fit, one to hold out)', () => {
    expect(sampleCount(10, 1)).toBe(10);
    expect(sampleCount(10, 0.5)).toBe(5);
    expect(sampleCount(10, 0.01)).toBe(2);
    expect(sampleCount(1, 0.1)).toBe(1);
  });
});

describe('fitting and prediction', () => {
  it('recovers the model the measurements follow, and predicts held-out configurations exactly', () => {
    const measured = measure(space.filter((_, i) => i % 3 === 0));
    const fitted = fitModel(measured, ctx);
    for (const key of ['edge', 'cloud', 'transfer', 'energy'] as const) expect(fitted.corrections[key]).toBeCloseTo(TRUTH.corrections[key], 6);
    expect(fitted.fixed.edgeFlops).toBeCloseTo(TRUTH.fixed.edgeFlops, 0);
    expect(fitted.fixed.cloudMs).toBeCloseTo(TRUTH.fixed.cloudMs, 6);
    expect(fitted.link.bandwidthMbps).toBeCloseTo(TRUTH.link.bandwidthMbps, 6);
    expect(fitted.link.rttMs).toBeCloseTo(TRUTH.link.rttMs, 6);
    expect(fitted.overheadMs.local).toBeCloseTo(TRUTH.overheadMs.local, 6);
    expect(fitted.overheadMs.offloaded).toBeCloseTo(TRUTH.overheadMs.offloaded, 6);
    const held = heldOutError(measured, ctx, 1)!;
    expect(held.count).toBe(Math.round(measured.length * 0.2));
    expect(held.fittedOn).toBe(measured.length - held.count);
    expect(held.latencyP90Pct).toBeLessThan(1e-6);
    expect(held.energyP90Pct).toBeLessThan(1e-6);
  });

  it('keeps the held-out error near the noise of the measurements', () => {
    // Deterministic +-5% noise on every run.
    const measured = measure(space.filter((_, i) => i % 4 === 1), (i) => 1 + 0.05 * Math.sin(i * 12.9898));
    const held = heldOutError(measured, ctx, 2)!;
    expect(held.latencyMedianPct).toBeLessThan(8);
    expect(held.energyMedianPct).toBeLessThan(8);
  });

  it('falls back to the median ratio without a fixed cost when one part size cannot separate them', () => {
    // One cut: the head's FLOPs and its fixed cost scale alike with frequency and threads; the
    // tail's two cloud modes still tell its terms apart.
    const one = space.filter((c) => c.cut === 'features.pool2');
    const fitted = fitModel(measure(one), ctx);
    expect(fitted.fixed.edgeFlops).toBe(0);
    expect(fitted.corrections.edge).toBeGreaterThan(TRUTH.corrections.edge);
    expect(fitted.fixed.cloudMs).toBeCloseTo(TRUTH.fixed.cloudMs, 6);
  });

  it('marks predicted rows modelled and takes accuracy from the measured agreement of the codec', () => {
    const measured = measure(space.filter((c) => c.codec === 'int8' || c.cut === 'output'));
    const accuracy = accuracyByCodec(measured);
    expect(accuracy.get('int8')).toBe(0.5);
    const fitted = fitModel(measured, ctx);
    const int8 = predictedRow('m', space.find((c) => c.codec === 'int8')!, ctx, fitted, accuracy);
    const fp16 = predictedRow('m', space.find((c) => c.codec === 'fp16')!, ctx, fitted, accuracy);
    expect(int8).toMatchObject({ model: 'm', latencySource: 'modelled', energySource: 'modelled', accuracy: 0.5 });
    expect(fp16.accuracy).toBe(1);
    expect(fp16.latencyMs).toBeGreaterThan(0);
    expect(fp16.energyJ).toBeGreaterThan(0);
  });

  it('says why a configuration cannot be predicted', () => {
    expect(unpredictable(space[0], ctx)).toBeUndefined();
    const reason = unpredictable(configuration({ cut: 'output', edge_frequency_mhz: 700 }), ctx);
    expect(reason).toEqual({ code: ErrorCodes.BAD_ARGS, message: expect.stringMatching(/700 MHz is not a DVFS step/) });
  });

  it('has no held-out error with fewer than two measured configurations', () => {
    expect(heldOutError(measure(space.slice(0, 1)), ctx, 0)).toBeUndefined();
  });
});
