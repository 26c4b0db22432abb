/** The report's Markdown (eval/report-markdown.ts). */
import { describe, expect, it } from 'vitest';
import { reportMarkdown, summarizeResults } from '../../../eval/index.ts';
import { figures, handMade } from './report-fixture.ts';

describe('reportMarkdown', () => {
  const meta = { source: 'simulated' as const, pool: 'pool.csv', model: 'vgg16', seed: 3, budgets: 'weibull:2', requests: 100, sources: { latency: { emulated: 5 }, energy: { modelled: 5 } } };
  const summary = summarizeResults({ ...handMade, meta }, { name: 'vgg16', file: 'vgg16.json' });
  const text = reportMarkdown('Results', [{ summary, figures: [
    { title: 'Energy per inference', file: 'vgg16-energy.svg', caption: 'Energy caption.' },
    { title: 'Latency against budget', omitted: 'No per-request records.' },
  ] }]);

  it('has a section per input with its settings, its sources, a table and the claims', () => {
    expect(text).toMatch(/^# Results\n/);
    expect(text).toContain('## vgg16\n\nInput: `vgg16.json`. Simulated: 100 requests, model vgg16, pool `pool.csv`, budgets `weibull:2`, seed 3.');
    expect(text).toContain('Latency: simulated: drawn from a pool of 5 emulated runs. Energy: simulated: drawn from a pool of 5 modelled runs.');
    expect(text).toMatch(/^\| dynasplit \| 100 \| 1\.0600 \| 1\.0000 \| 95\.0% \| 100\.0 \| 150\.0 \| 0\.9850 \| 47\.0% \| 1\.060 \| -2\.5 \| -0\.50 \|$/m);
    expect(text).toContain('- Energy within 5% of the oracle: **no**: dynasplit\'s mean energy is 1.060× the oracle\'s');
    expect(text).toContain('- Budgets met within 2 points of the oracle: **no**: 95.0% against 97.5% (-2.5 points');
    expect(text).toContain('- Accuracy within 1 point of cloud-only: **yes**');
    expect(text).toContain('The input holds no per-request records');
  });

  it('shows a figure that is not known as n/a', () => {
    const unknown = summarizeResults({ strategies: { a: figures({ meanLatencyMs: NaN, p95LatencyMs: NaN }) } }, { name: 'u', file: 'u.json' });
    expect(reportMarkdown('R', [{ summary: unknown, figures: [] }])).toMatch(/^\| a \| 100 \| 1\.0000 \| 1\.0000 \| 100\.0% \| n\/a \| n\/a \|/m);
  });

  it('shows rendered plots with captions and says why the others are left out', () => {
    expect(text).toContain('### Energy per inference\n\n![Energy per inference](vgg16-energy.svg)\n\nEnergy caption.');
    expect(text).toContain('### Latency against budget\n\nNo per-request records.');
  });

  it('says every energy and latency figure\'s source: in the section, above the table and beside each claim', () => {
    const sources = text.split('\n').filter((l) => /J per request|^- (Energy|Budgets)/.test(l));
    expect(sources.length).toBe(3);
    for (const line of sources) expect(line).toMatch(/simulated: drawn from a pool of 5 (modelled|emulated) runs/);
  });
});
