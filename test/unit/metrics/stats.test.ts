/** The pure parts: per-configuration figures with InfluxQL's percentiles, source labels, the ring buffer. */
import { describe, expect, it } from 'vitest';
import { RingBuffer } from '../../../metrics/ring-buffer.ts';
import { configurationStatsOf, linkStatsOf, sourceLabel } from '../../../metrics/stats.ts';
import type { RequestMetric } from '../../../metrics/index.ts';

const request = (configuration: string, endToEndMs: number, energyJ = 1): RequestMetric => ({
  configuration, endToEndMs, energyJ, budgetMet: endToEndMs <= 100, energySource: 'measured',
}) as RequestMetric;

describe('figures', () => {
  it('takes p50 and p95 as InfluxQL does (rank rounded half up), so both stores agree', () => {
    // 12 latencies 1..12: InfluxQL's p95 is rank round(11.4) = 11, its p50 rank round(6) = 6 (the lower middle).
    const [stats] = configurationStatsOf(Array.from({ length: 12 }, (_, i) => request('a', i + 1)));
    expect([stats.latencyP50Ms, stats.latencyP95Ms, stats.count]).toEqual([6, 11, 12]);
    expect(linkStatsOf([1, 4, 2, 3].map((rttMs) => ({ timeMs: 0, edgeId: 'e', rttMs, bytes: 1000, transferMs: 1 }))).rttMs).toBe(2);
  });

  it('labels energy sources sorted and joined, unknown only beside known ones', () => {
    expect(sourceLabel(['modelled', 'measured', 'modelled'])).toBe('measured+modelled');
    expect(sourceLabel([''])).toBe('');
    expect(sourceLabel(['', 'modelled'])).toBe('modelled+unknown');
  });
});

describe('ring buffer', () => {
  it('evicts the oldest, takes from the front and puts back what fits', () => {
    const ring = new RingBuffer<number>(4);
    for (let i = 1; i <= 5; i++) ring.push(i);
    expect(ring.peek()).toBe(2);
    expect(ring.take(3)).toEqual([2, 3, 4]);
    ring.push(6);
    expect(ring.unshiftAll([7, 8, 9])).toEqual([7]); // room for two: the oldest does not fit
    const all: number[] = [];
    ring.forEach((x) => all.push(x));
    expect(all).toEqual([8, 9, 5, 6]);
    expect(ring.length).toBe(4);
  });
});
