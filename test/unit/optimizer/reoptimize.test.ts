/** One re-optimization round's estimates: what the model leaves out, learned as median offsets (common/stats.ts). */
import { join } from 'node:path';
import { beforeAll, describe, expect, it, inject } from 'vitest';
import { loadProfile } from '../../../hardware/index.ts';
import type { ConfigStats } from '../../../metrics/index.ts';
import { inspectModel } from '../../../model/index.ts';
import { estimate } from '../../../optimizer/index.ts';
import { predict, type PredictContext } from '../../../pareto/index.ts';
import { configuration, type Configuration } from '../../../policy/index.ts';

let context: PredictContext;
const cut = (name: string, threads = 1): Configuration =>
  configuration({ cut: name, codec: 'fp32', edge_frequency_mhz: 1200, edge_threads: threads, edge_accelerator: 'none', cloud_accelerator: 'gpu' });
const [a, b, c] = [cut('features.pool1'), cut('features.pool2'), cut('features.pool3')];

beforeAll(async () => {
  const inspection = await inspectModel(join(inject('zooDir'), 'vgg16-tiny.onnx'));
  context = { inspection, edge: loadProfile('rpi4'), cloud: loadProfile('gpu-server'), link: { bandwidthMbps: 40, rttMs: 3 } };
});

/** Measured as the model predicts plus `latencyMs` and `energyJ`, with p95 = `tail` × p50. */
function measured(config: Configuration, latencyMs: number, energyJ: number, tail: number): ConfigStats {
  const p = predict(config, context);
  const p50 = p.latencyMs + latencyMs;
  return { configuration: config.name, count: 10, latencyP50Ms: p50, latencyP95Ms: tail * p50, meanEnergyJ: p.energyJ + energyJ, budgetMetRate: 1, energySource: 'measured' };
}

describe('estimate', () => {
  it('gives an unmeasured configuration the model plus the median offset of the measured ones, and their median tail', () => {
    const stats = [measured(a, 2, 0.1, 1.2), measured(b, 4, 0.3, 1.6)];
    const [ea, eb, ec] = estimate({ configurations: [a, b, c], stats, context, minRuns: 5 });
    expect([ea.source, eb.source, ec.source]).toEqual(['measured', 'measured', 'modelled']);
    expect(ea.latencyMs).toBe(stats[0].latencyP50Ms);
    const p = predict(c, context);
    // Two offsets: their median is their mean (3 ms, 0.2 J), and the tail the mean of 1.2 and 1.6.
    expect(ec.latencyMs).toBeCloseTo(p.latencyMs + 3, 9);
    expect(ec.energyJ).toBeCloseTo(p.energyJ + 0.2, 9);
    expect(ec.latencyP95Ms / ec.latencyMs).toBeCloseTo(1.4, 9);
  });

  it('takes the model as it is, with the default tail, when nothing is measured', () => {
    const [ec] = estimate({ configurations: [c], stats: [], context, minRuns: 5 });
    const p = predict(c, context);
    expect([ec.source, ec.latencyMs, ec.energyJ]).toEqual(['modelled', p.latencyMs, p.energyJ]);
    expect(ec.latencyP95Ms / ec.latencyMs).toBeCloseTo(1.25, 12);
  });
});
