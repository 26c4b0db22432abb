/** Corrections fitted to measurements: medians of measured/predicted (common/stats.ts's median). */
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { loadProfile } from '../../../hardware/index.ts';
import { inspectModel } from '../../../model/index.ts';
import { fitCorrections, NO_CORRECTION, predict, type Observation, type PredictContext } from '../../../pareto/index.ts';
import { configuration } from '../../../policy/index.ts';

let ctx: PredictContext;

beforeAll(async () => {
  const inspection = await inspectModel(join(inject('zooDir'), 'vgg16-tiny.onnx'));
  ctx = { inspection, edge: loadProfile('rpi4'), cloud: loadProfile('gpu-server'), link: { bandwidthMbps: 40, rttMs: 3 } };
});

/** An observation of `cut` whose edge, transfer and cloud times are the model's times `k`. */
function observed(cut: string, threads: number, k: number): Observation {
  const config = configuration({ cut, codec: 'fp32', edge_frequency_mhz: 1200, edge_threads: threads, edge_accelerator: 'none', cloud_accelerator: 'gpu' });
  const p = predict(config, { ...ctx, corrections: NO_CORRECTION });
  return { config, edgeComputeMs: p.edgeComputeMs * k, transferMs: p.transferMs * k, cloudComputeMs: p.cloudComputeMs * k, energyJ: p.energyJ * k };
}

describe('fitCorrections', () => {
  it('takes the median ratio per stage: the mean of the middle two for an even count', () => {
    // Ratios 1 and 2 per stage: the correction is 1.5 (the upper middle, 2, before one median served all).
    const c = fitCorrections([observed('features.pool2', 1, 1), observed('features.pool3', 4, 2)], ctx);
    expect(c.edge).toBeCloseTo(1.5, 12);
    expect(c.transfer).toBeCloseTo(1.5, 12);
    expect(c.cloud).toBeCloseTo(1.5, 12);
    const odd = fitCorrections([observed('features.pool2', 1, 1), observed('features.pool3', 4, 2), observed('features.pool1', 1, 5)], ctx);
    expect(odd.edge).toBeCloseTo(2, 12);
  });

  it('keeps the profile\'s word (1) for a stage nothing measured', () => {
    expect(fitCorrections([], ctx)).toEqual(NO_CORRECTION);
  });
});
