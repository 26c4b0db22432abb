/** Configurations whose requests fail or fall back leave the front until they succeed again (metrics -> optimizer). */
import { describe, expect, it } from 'vitest';
import { EmbeddedMetricsStore, type RequestMetric } from '../../../metrics/index.ts';
import { failingConfigurations, withoutFailing, type Estimate } from '../../../optimizer/index.ts';
import { configuration } from '../../../policy/index.ts';

const MODEL = 'm';

function request(configurationName: string, timeMs: number, outcome: 'ok' | 'error' | 'fallback'): RequestMetric {
  return {
    timeMs, model: MODEL, configuration: configurationName, cut: 'c', codec: 'fp32', edgeId: 'e', edgeClass: 'default', workerId: '', sensorId: 's',
    errorCode: outcome === 'error' ? 'DYNASPLIT_ERR_BAD_ARGS' : '', latencySource: 'measured', energySource: 'modelled', endToEndMs: 10, edgeComputeMs: 5,
    encodeMs: 0, transferMs: 0, cloudQueueMs: 0, cloudComputeMs: 0, budgetMs: 100, budgetMet: outcome === 'ok', edgeFallback: outcome === 'fallback',
    tensorBytes: 0, energyJ: 1, edgeEnergyJ: 1, cloudEnergyJ: 0, frequencyMhz: 0, threads: 0, accelerator: '', cloudMode: '',
  };
}

const estimateOf = (cut: string): Estimate => ({
  configuration: configuration({ cut, codec: 'fp32' }), source: 'modelled', runs: 0, latencyMs: 1, latencyP95Ms: 1, energyJ: 1, accuracy: 1,
});

describe('failing configurations', () => {
  it('are those whose newest failure or fallback is newer than their newest clean success', async () => {
    const store = new EmbeddedMetricsStore();
    const t = 1_000_000;
    for (const r of [
      request('a', t, 'ok'), request('a', t + 1, 'error'), // failing
      request('b', t, 'fallback'), request('b', t + 5, 'ok'), // recovered
      request('c', t + 2, 'fallback'), // failing, never succeeded
      request('d', t + 3, 'ok'), // never failed
      request('', t + 4, 'error'), // refused before a configuration was chosen: no one's failure
      { ...request('e', t + 4, 'error'), model: 'other' },
    ]) store.writeRequest(r);
    const failures = await store.configurationFailures({ model: MODEL, sinceMs: t });
    expect(failures).toEqual([
      { configuration: 'a', failures: 1, lastFailureMs: t + 1, lastSuccessMs: t },
      { configuration: 'b', failures: 1, lastFailureMs: t, lastSuccessMs: t + 5 },
      { configuration: 'c', failures: 1, lastFailureMs: t + 2, lastSuccessMs: 0 },
    ]);
    expect([...failingConfigurations(failures)]).toEqual(['a', 'c']);
    // Out of the window (aged out): tried again.
    expect(failingConfigurations(await store.configurationFailures({ model: MODEL, sinceMs: t + 3 })).size).toBe(0);
  });

  it('leave the estimates the front is taken from, unless every configuration is failing', () => {
    const [x, y] = [estimateOf('input'), estimateOf('output')];
    expect(withoutFailing([x, y], new Set([x.configuration.name]))).toEqual([y]);
    expect(withoutFailing([x, y], new Set([x.configuration.name, y.configuration.name]))).toEqual([x, y]);
  });
});
