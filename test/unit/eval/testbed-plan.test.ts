import { describe, expect, it } from 'vitest';
import { isDynasplitError } from '../../../common/index.ts';
import {
  DEFAULT_SPACE, estimateRequestMs, parseSpace, planConfigurations, predictedPool, measureCostsMs, sessionBudgetsMb, spreadCuts, type PlanContext,
} from '../../../eval/testbed-plan.ts';
import { loadProfile, type DeviceProfile } from '../../../hardware/index.ts';
import type { CutPointInfo } from '../../../model/index.ts';

const MB = 1e6;
const cut = (name: string, shape: number[], flopsBefore: number, paramBytesBefore: number): CutPointInfo => {
  const bytesPerSample = 4 * shape.reduce((a, b) => a * b, 1);
  return {
    name, shape, dtype: 'float32', bytesPerSample, tensors: [{ name, shape, dtype: 'float32', bytesPerSample }],
    flopsBefore, flopsAfter: 1e9 - flopsBefore, paramBytesBefore, paramBytesAfter: 200 * MB - paramBytesBefore,
  };
};

/**
 * A model of 1 GFLOP and 200 MB of weights with three cut points: `a`'s head fits the rpi4's Coral
 * (1 MB of fp32 weights = 0.25 MB int8), `b`'s and `c`'s do not.
 */
const ctx: PlanContext = {
  inspection: {
    input: cut('input', [1, 3, 8, 8], 0, 0),
    cutPoints: [cut('a', [1, 16, 8, 8], 1e8, 1 * MB), cut('b', [1, 8, 4, 4], 5e8, 100 * MB), cut('c', [1, 10], 9e8, 190 * MB)],
    output: cut('output', [1, 10], 1e9, 200 * MB),
    nonFloatCutPoints: [{ ...cut('m', [1, 16, 8, 8], 1e8, 1 * MB), dtype: 'bool' }],
  },
  edge: loadProfile('rpi4'),
  cloud: loadProfile('gpu-server'),
};

const codes = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return isDynasplitError(err) ? err.code : String(err);
  }
  return 'no error';
};

describe('testbed space', () => {
  it('parses key=value clauses over the default; keys not given keep their defaults', () => {
    expect(parseSpace(DEFAULT_SPACE)).toEqual({
      cuts: 6, frequencies: ['max'], threads: ['max'], accelerators: 'all', codecs: ['fp32', 'fp16', 'int8'], cloudModes: 'all',
    });
    expect(parseSpace('cuts=a,b; frequencies=min,max cloud=gpu')).toMatchObject({ cuts: ['a', 'b'], frequencies: ['min', 'max'], cloudModes: ['gpu'], codecs: ['fp32', 'fp16', 'int8'] });
    expect(parseSpace('cuts=all;threads=all').cuts).toBe('all');
    expect(codes(() => parseSpace('cut=3'))).toBe('DYNASPLIT_ERR_BAD_ARGS');
    expect(codes(() => parseSpace('cuts='))).toBe('DYNASPLIT_ERR_BAD_ARGS');
  });

  it('spreads cut points over places and takes each run\'s smallest tensor, the earliest of equal ones', () => {
    const points = [
      { name: 'big1', bytesPerSample: 100, flopsBefore: 10 }, { name: 'pool1', bytesPerSample: 50, flopsBefore: 10 },
      { name: 'big2', bytesPerSample: 80, flopsBefore: 50 }, { name: 'pool2', bytesPerSample: 20, flopsBefore: 50 },
      { name: 'fc1', bytesPerSample: 4, flopsBefore: 99 }, { name: 'fc2', bytesPerSample: 4, flopsBefore: 100 },
    ];
    expect(spreadCuts(points, 3)).toEqual(['pool1', 'pool2', 'fc1']);
    expect(spreadCuts(points, 6)).toEqual(points.map((p) => p.name));
    // A cheap cluster at the start (ViT's embedding) takes one place of four, not two as by position alone.
    const cluster = [...Array.from({ length: 6 }, (_, i) => ({ name: `e${i}`, bytesPerSample: 8, flopsBefore: 0 })),
      ...Array.from({ length: 6 }, (_, i) => ({ name: `b${i}`, bytesPerSample: 8, flopsBefore: (i + 1) * 10 }))];
    expect(spreadCuts(cluster, 4)).toEqual(['e0', 'b0', 'b2', 'b4']);
  });

  it('plans the CPU per clock and thread count, each accelerator mode once, cloud-only per codec and cloud mode', () => {
    const plan = planConfigurations(parseSpace('cuts=all;frequencies=min,max'), ctx);
    expect(plan.cuts).toEqual(['input', 'a', 'b', 'c', 'output']);
    expect(plan.groups.map((g) => g.cut)).toEqual(plan.cuts);
    expect(plan.configurations).toEqual(plan.groups.flatMap((g) => g.configurations));
    const of = (c: string) => plan.groups.find((g) => g.cut === c)!.configurations;
    // cloud-only: 3 codecs x 2 cloud modes, at the highest clock, no edge threads or accelerator
    expect(of('input')).toHaveLength(6);
    expect(of('input').every((c) => c.edge_frequency_mhz === 1800 && c.edge_threads === 0 && c.edge_accelerator === '')).toBe(true);
    // a: CPU at 600 and 1800 MHz on 4 threads (2 x 3 x 2) plus both Coral modes at 1800 MHz (2 x 3 x 2)
    expect(of('a')).toHaveLength(24);
    const onCoral = of('a').filter((c) => c.edge_accelerator !== 'none');
    expect(new Set(onCoral.map((c) => c.edge_accelerator))).toEqual(new Set(['coral-usb:std', 'coral-usb:max']));
    expect(onCoral.every((c) => c.edge_frequency_mhz === 1800 && c.edge_threads === 4)).toBe(true);
    // b and c: heads too large for the Coral's memory; edge-only: one per clock, no codec, no cloud mode
    expect(of('b')).toHaveLength(12);
    expect(of('b').every((c) => c.edge_accelerator === 'none')).toBe(true);
    expect(of('output').map((c) => c.name)).toEqual(['edge-only[600MHz,4t]', 'edge-only[1800MHz,4t]']);
    expect(new Set(plan.configurations.map((c) => c.name)).size).toBe(plan.configurations.length);
  });

  it('narrows knobs by name and refuses what the profiles do not offer', () => {
    const plan = planConfigurations(parseSpace('cuts=b;accelerators=none;codecs=int8;cloud=gpu;threads=1,4'), ctx);
    expect(plan.configurations.map((c) => c.name)).toEqual([
      'cloud-only/int8[1800MHz,cloud:gpu]',
      'split@b/int8[1800MHz,1t,cloud:gpu]', 'split@b/int8[1800MHz,4t,cloud:gpu]',
      'edge-only[1800MHz,1t]', 'edge-only[1800MHz,4t]',
    ]);
    expect(codes(() => planConfigurations(parseSpace('cuts=zz'), ctx))).toBe('DYNASPLIT_ERR_UNKNOWN_CUT');
    expect(() => planConfigurations(parseSpace('cuts=a,m'), ctx)).toThrow("testbed space: the model's cut 'm' carries a bool tensor");
    expect(codes(() => planConfigurations(parseSpace('frequencies=700'), ctx))).toBe('DYNASPLIT_ERR_BAD_ARGS');
    expect(codes(() => planConfigurations(parseSpace('cloud=tpu'), ctx))).toBe('DYNASPLIT_ERR_BAD_ARGS');
    expect(codes(() => planConfigurations(parseSpace('codecs=fp8'), ctx))).toBe('DYNASPLIT_ERR_BAD_ARGS');
  });
});

describe('testbed cost', () => {
  const host: DeviceProfile = { ...loadProfile('rpi4'), name: 'host', cpu: { ...loadProfile('rpi4').cpu, cores: 2, frequenciesMhz: [1000], gflopsPerCorePerGhz: 100, parallelFraction: 0 } };
  const plan = planConfigurations(parseSpace('cuts=all'), ctx);

  it('estimates a request as the slower of device and host per part, plus transfer and overhead', () => {
    const edgeOnly = plan.configurations.find((c) => c.cut === 'output')!;
    // rpi4 at 1800 MHz on 4 threads: 3.35 x 1.8 x 3.08 = 18.6 GFLOP/s, slower than the host's 100: 1 GFLOP in ~54 ms
    expect(estimateRequestMs(edgeOnly, ctx, host)).toBeCloseTo(1e9 / (3.35 * 1.8 * (1 / (0.1 + 0.9 / 4)) * 1e6) + 40, 0);
    const cloudOnly = plan.configurations.find((c) => c.cut === 'input' && c.cloud_accelerator === 'gpu' && c.codec === 'fp32')!;
    // the GPU server is faster than the host: the host's 10 ms of the tail count, not the device's
    expect(estimateRequestMs(cloudOnly, ctx, host)).toBeGreaterThan(10 + 40);
    expect(estimateRequestMs(cloudOnly, ctx, host)).toBeLessThan(10 + 40 + 1);
  });

  it('sizes phase 1 per cut and phase 2 over predicted runs; keeps every planned session loaded', () => {
    const costs = measureCostsMs(plan, ctx, host, { warmup: 1, repetitions: 3 });
    expect(costs).toHaveLength(plan.groups.length);
    expect(costs.every((ms) => ms > 0)).toBe(true);
    expect(measureCostsMs(plan, ctx, host, { warmup: 1, repetitions: 6 })[0]).toBeGreaterThan(costs[0]);
    const rows = predictedPool(plan, ctx, host, 'm');
    expect(rows.map((r) => r.configuration)).toEqual(plan.configurations.map((c) => c.name));
    expect(rows.every((r) => r.latencyMs > 0 && r.energyJ > 0 && r.model === 'm')).toBe(true);
    const budgets = sessionBudgetsMb(plan, ctx);
    expect(budgets.cloud).toBeGreaterThanOrEqual(1024);
    expect(budgets.edge).toBeGreaterThanOrEqual(budgets.cloud);
  });
});
