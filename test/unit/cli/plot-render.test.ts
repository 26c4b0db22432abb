import { describe, expect, it } from 'vitest';
import { renderSvg, roundCoordinates } from '../../../cli/plot-render.ts';
import { reportPlots, SCATTER_POINTS, summarizeResults, type RequestOutcome, type Results } from '../../../eval/index.ts';

describe('plot rendering', () => {
  it('cuts numbers inside tags to two decimals and leaves text alone', () => {
    expect(roundCoordinates('<path transform="translate(68.78353909222047,157.72222222222223)"/><text x="1.5">0.123456</text>'))
      .toBe('<path transform="translate(68.78,157.72)"/><text x="1.5">0.123456</text>');
  });

  it('draws a scatter point in under 160 bytes of SVG', async () => {
    // Budgets and latencies spread, so no two points share a position.
    const records: RequestOutcome[] = Array.from({ length: SCATTER_POINTS }, (_, i) => ({
      budgetMs: 100 + i * 3.7311, latencyMs: 50 + ((i * 7919) % 400) * 1.13, energyJ: 1, accuracy: 1, configuration: 'a', met: i % 3 !== 0,
    }));
    const results: Results = {
      strategies: { dynasplit: { requests: SCATTER_POINTS, meanEnergyJ: 1, medianEnergyJ: 1, budgetMetRate: 0.66, meanLatencyMs: 200, p95LatencyMs: 400,
        meanAccuracy: 1, savingsVsCloudOnly: null, configurations: { a: SCATTER_POINTS } } },
      records: { dynasplit: records },
      meta: { source: 'testbed', sources: { latency: 'measured', energy: 'modelled' } },
    };
    const plan = reportPlots(results, summarizeResults(results, { name: 'x', file: 'x.json' })).find((p) => p.id === 'latency-budget')!;
    const svg = await renderSvg(plan.spec!);
    const points = svg.match(/<path transform="translate\([^"]*\)" d="M[^"]*A[^"]*"[^>]*>/g) ?? [];
    // The points, and the legend's two symbols (met, missed).
    expect(points).toHaveLength(SCATTER_POINTS + 2);
    const bytes = points.reduce((sum, p) => sum + p.length, 0) / points.length;
    expect(bytes).toBeLessThan(160);
    expect(svg).not.toMatch(/\d\.\d{3,}/);
  });
});
