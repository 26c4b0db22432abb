import { describe, expect, it } from 'vitest';
import { poolRow, type PoolRow, markBaselines } from '../../../pareto/index.ts';

const row = (model: string, configuration: string, cut: string, latencyMs: number, energyJ = 1): PoolRow =>
  poolRow({ model, configuration, cut, latencyMs, energyJ, codec: /\/(\w+)/.exec(configuration)?.[1] ?? '' });
const marks = (rows: PoolRow[]) => rows.map((r) => `${r.model} ${r.configuration} ${r.baseline}`);

describe('baseline marks on profiled rows', () => {
  it('marks the lossless cloud-only runs, and the runs of the edge-only configuration with the least median latency', () => {
    const rows = [
      row('m', 'cloud-only/fp32', 'input', 50), row('m', 'cloud-only/int8', 'input', 40),
      ...[1200, 1300, 100].map((l) => row('m', 'edge-only[600MHz]', 'output', l)),
      ...[400, 420].map((l) => row('m', 'edge-only[1800MHz]', 'output', l)),
      row('m', 'split@a/fp32', 'a', 200),
    ];
    markBaselines(rows);
    expect(marks(rows)).toEqual([
      'm cloud-only/fp32 cloud-only', 'm cloud-only/int8 ',
      'm edge-only[600MHz] ', 'm edge-only[600MHz] ', 'm edge-only[600MHz] ',
      'm edge-only[1800MHz] edge-only', 'm edge-only[1800MHz] edge-only',
      'm split@a/fp32 ',
    ]);
  });

  it('prefers a measured edge-only configuration to a predicted one; breaks latency ties by energy; marks each model\'s own', () => {
    const measured = [row('m', 'edge-only[1800MHz]', 'output', 400), row('n', 'edge-only[a]', 'output', 30, 2), row('n', 'edge-only[b]', 'output', 30, 1)];
    const predicted = [row('m', 'edge-only[2000MHz]', 'output', 300), row('m', 'cloud-only/fp16', 'input', 20)];
    markBaselines(measured, predicted);
    expect(marks(measured)).toEqual(['m edge-only[1800MHz] edge-only', 'n edge-only[a] ', 'n edge-only[b] edge-only']);
    // A model without a lossless cloud-only run: its cloud-only runs are the baseline, whatever their codec.
    expect(marks(predicted)).toEqual(['m edge-only[2000MHz] ', 'm cloud-only/fp16 cloud-only']);
    const onlyPredicted = [row('m', 'edge-only[2000MHz]', 'output', 300)];
    markBaselines([], onlyPredicted);
    expect(onlyPredicted[0].baseline).toBe('edge-only');
  });
});
