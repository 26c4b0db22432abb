import { expect, it } from 'vitest';
import { closingText, explorationText, type DemoDocument } from '../../../cli/demo-format.ts';

// The mean is the median plus 10 mJ: the table shows both, the comparisons use the median.
const report = (energyJ: number, met: number, saving: number | null, configuration: string) => ({
  requests: 4, meanEnergyJ: energyJ + 0.01, medianEnergyJ: energyJ, budgetMetRate: met, meanLatencyMs: 20, p95LatencyMs: 31.25, meanAccuracy: 1,
  savingsVsCloudOnly: saving, configurations: { [configuration]: 4 },
});
const split = 'split@features.pool4/fp16[1800MHz,4t,edge:coral-usb:max,cloud:gpu]';
const doc: DemoDocument = {
  model: 'vgg16-64', devices: { edge: 'rpi4', cloud: 'gpu-server' }, workload: { requests: 4, budgets: 'uniform:300:900', seed: 1 },
  sources: { latency: 'emulated', energy: 'modelled', accuracy: 'measured', budgetsMet: 'emulated' },
  exploration: { configurations: 21, runs: 42, front: [{ configuration: split, latencyMs: 11.5, energyJ: 0.0512, accuracy: 1 }], policy: { rule: 'energy-first', entries: 1 } },
  strategies: {
    'cloud-only': report(0.14, 1, 0, 'cloud-only/fp32[1800MHz,cloud:gpu]'), 'edge-only': report(1.1, 0.5, -6.857, 'edge-only[1800MHz,4t]'),
    'static-min-energy': report(0.056, 1, 0.6, split), 'dynasplit': report(0.0525, 0.75, 0.625, split),
  },
  served: {
    'cloud-only': { run: 'forced', configuration: 'cloud-only/fp32[1800MHz,cloud:gpu]', p50LatencyMs: 18, fallbacks: 0, failures: {} },
    'edge-only': { run: 'forced', configuration: 'edge-only[1800MHz,4t]', p50LatencyMs: 161.5, fallbacks: 0, failures: {} },
    'static-min-energy': { run: 'forced', configuration: split, p50LatencyMs: 12, fallbacks: 0, failures: {} },
    'dynasplit': { run: 'policy', p50LatencyMs: 0.5, fallbacks: 1, failures: { DYNASPLIT_ERR_EXPIRED: 1 } },
  },
  elapsedS: { exploration: 10, serving: 20, total: 35 },
};

it('closes with one row per strategy, each column labelled with its source, energy (median, mean) in mJ below 1 J, compared by the median', () => {
  const text = closingText(doc);
  const row = (name: string) => text.split('\n').find((l) => l.startsWith(`${name} `))!;
  expect(text).toContain('energy p50 [modelled]');
  expect(text).toContain('p50 energy vs cloud-only');
  expect(text).toContain('budgets met [emulated]');
  expect(text).toContain('p50 [emulated]');
  expect(row('dynasplit')).toMatch(/52\.5 mJ\s+62\.5 mJ\s+75\.0%\s+0\.500 ms\s+31\.3 ms\s+63% less$/);
  expect(row('edge-only')).toMatch(/1\.1 J\s+1\.11 J\s+50\.0%\s+161\.5 ms\s+31\.3 ms\s+686% more$/);
  expect(row('cloud-only')).toMatch(/140 mJ .* -$/);
  expect(text).toContain('dynasplit: no result for 1 DYNASPLIT_ERR_EXPIRED');
  expect(text).toContain('dynasplit: 1 frames finished on the edge');
  expect(text).toContain('dynasplit: median energy per inference 63% less than cloud-only, 95% less than edge-only; budgets met 75% (best static 100%)');
  expect(text.trimEnd().split('\n').at(-1)).toMatch(/^next: /);
});

it('prints the front in policy order with its expected latency and energy', () => {
  const text = explorationText('vgg16-64', doc.exploration, 2);
  expect(text).toContain('21 configurations of vgg16-64 measured on the pipeline, 2 runs each (42 runs recorded)');
  expect(text).toContain('front: 1 of the 21');
  expect(text).toMatch(new RegExp(`1\\. ${split.replace(/[[\]]/g, '\\$&')}\\s+11\\.5 ms\\s+51\\.2 mJ  accuracy 1\\.000`));
});
