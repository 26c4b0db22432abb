/** The embedded store: the MetricsStore contract, its bound, and its option checks. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../common/index.ts';
import { createMetricsStore, EmbeddedMetricsStore } from '../../../metrics/index.ts';
import { describeMetricsStoreContract, requestMetric } from '../../helpers/metrics-contract.ts';

describeMetricsStoreContract('embedded', async () => createMetricsStore('embedded'));

describe('embedded metrics store', () => {
  it('keeps the last `capacity` points per measurement and counts the evicted ones as dropped', async () => {
    const store = new EmbeddedMetricsStore({ capacity: 10 });
    for (let i = 0; i < 15; i++) store.writeRequest(requestMetric({ model: 'm', timeMs: 1_000 + i, endToEndMs: i }));
    for (let i = 0; i < 3; i++) store.writeLink({ timeMs: 1_000 + i, edgeId: 'e', bytes: 1_000, transferMs: 1, rttMs: i });
    expect(store.stats()).toEqual({ written: 18, dropped: 5, buffered: 0, writeFailures: 0 });
    const [stats] = await store.configurationStats({ model: 'm', sinceMs: 0 });
    expect(stats).toMatchObject({ count: 10, latencyP50Ms: 9 }); // 5..14 remain: rank round(10·0.5) = 5 -> 9
    expect((await store.linkStats({ sinceMs: 0 })).samples).toBe(3);
  });

  it('defaults to 100,000 points per measurement', () => {
    const store = new EmbeddedMetricsStore();
    for (let i = 0; i < 100_001; i++) store.writeRequest(requestMetric({ timeMs: i }));
    expect(store.stats()).toMatchObject({ written: 100_001, dropped: 1 });
  });

  it('rejects a capacity that is not a positive integer with BAD_ARGS', () => {
    expect(() => new EmbeddedMetricsStore({ capacity: 0 })).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_ARGS }));
    expect(() => createMetricsStore('embedded', { capacity: 1.5 })).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_ARGS }));
  });
});
