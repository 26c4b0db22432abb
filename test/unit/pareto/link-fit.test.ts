/** The link fit: time = rtt + bytes·8/bandwidth by least squares, its spread, and when it must not be believed. */
import { describe, expect, it } from 'vitest';
import { fitLink, linkForRound, priorEstimate, type LinkRoundState } from '../../../pareto/index.ts';
import { seededRandom } from '../../helpers/random.ts';

/** ms a transfer of `bytes` takes on `mbps` with `rttMs`, plus a delay uniform in [0, jitterMs) (delays only add). */
function transfers(sizes: number[], mbps: number, rttMs: number, jitterMs: number, seed = 1) {
  const random = seededRandom(seed);
  return sizes.map((bytes) => ({ bytes, transferMs: rttMs + (bytes * 8) / (mbps * 1000) + random() * jitterMs }));
}

const PRIOR = { bandwidthMbps: 100, rttMs: 2 };

describe('fitLink', () => {
  it('recovers bandwidth and round trip from mixed sizes, with an interval that holds the truth', () => {
    const sizes = Array.from({ length: 60 }, (_, i) => [2_000, 40_000, 150_000][i % 3]!);
    const fit = fitLink(transfers(sizes, 5, 20, 4), PRIOR);
    expect(fit.bandwidthFitted).toBe(true);
    expect(fit.bandwidthMbps).toBeGreaterThan(5 * 0.95);
    expect(fit.bandwidthMbps).toBeLessThan(5 * 1.05);
    expect(fit.bandwidthRangeMbps[0]).toBeLessThan(5);
    expect(fit.bandwidthRangeMbps[1]).toBeGreaterThan(5);
    // The line under a quarter of the transfers: the round trip plus the delays' lower quartile (1 ms).
    expect(fit.rttRangeMs[0]).toBeLessThan(21);
    expect(fit.rttRangeMs[1]).toBeGreaterThan(21);
    // Delays uniform over 4 ms: a MAD of 1 ms, 1.48 ms as a normal standard deviation.
    expect(fit.residualStdMs).toBeGreaterThan(1);
    expect(fit.residualStdMs).toBeLessThan(2);
    expect(fit.samples).toBe(60);
  });

  it('is not tilted by transfers delayed far beyond the others (a busy machine, a queue)', () => {
    const sizes = Array.from({ length: 60 }, (_, i) => [2_000, 40_000, 150_000][i % 3]!);
    const clean = transfers(sizes, 5, 20, 2, 9);
    // One transfer in ten waits 150-400 ms more: least squares alone would tilt towards them.
    const delayed = clean.map((s, i) => (i % 10 === 2 ? { ...s, transferMs: s.transferMs + 150 + (i % 3) * 125 } : s));
    const plain = fitLink(delayed, PRIOR);
    expect(Math.abs(plain.bandwidthMbps - 5) / 5).toBeLessThan(0.05);
    expect(Math.abs(plain.rttMs - 20)).toBeLessThan(1.5);
  });

  it('is exact on exact data', () => {
    const fit = fitLink(transfers([1_000, 10_000, 100_000], 40, 3, 0), PRIOR);
    expect(fit.bandwidthMbps).toBeCloseTo(40, 9);
    expect(fit.rttMs).toBeCloseTo(3, 9);
  });

  it('does not read small-tensor traffic as a slow link: the bandwidth is kept, the level becomes the round trip', () => {
    // 200-1,000 byte tensors on a 100 Mbit/s link with a 30 ms round trip and ±3 ms jitter: the
    // bytes explain at most 0.08 ms, far below the noise. An aggregate rate would say ~0.2 Mbit/s.
    const random = seededRandom(5);
    const small = transfers(Array.from({ length: 80 }, () => 200 + Math.floor(random() * 800)), 100, 30, 3, 6);
    const aggregate = (small.reduce((a, s) => a + s.bytes, 0) * 8) / small.reduce((a, s) => a + s.transferMs, 0) / 1000;
    expect(aggregate).toBeLessThan(1);
    const fit = fitLink(small, { bandwidthMbps: 50, rttMs: 2 });
    expect(fit.bandwidthFitted).toBe(false);
    expect(fit.bandwidthMbps).toBe(50);
    expect(fit.bandwidthRangeMbps).toEqual([50, 50]);
    expect(Math.abs(fit.rttMs - 30)).toBeLessThan(1);
  });

  it('keeps the bandwidth for transfers of one size, and fits the level that predicts them', () => {
    const one = transfers(Array.from({ length: 20 }, () => 100_000), 5, 20, 1, 7);
    const fit = fitLink(one, { bandwidthMbps: 10, rttMs: 2 });
    expect(fit.bandwidthFitted).toBe(false);
    expect(fit.bandwidthMbps).toBe(10);
    // 100 kB take 160 ms at 5 Mbit/s + 20 ms; at the kept 10 Mbit/s 80 ms of it is level.
    expect(Math.abs(fit.rttMs - 100)).toBeLessThan(1);
  });

  it('returns the previous estimate without samples and ignores impossible ones', () => {
    expect(fitLink([], PRIOR)).toEqual(priorEstimate(PRIOR));
    expect(fitLink([{ bytes: Number.NaN, transferMs: 1 }, { bytes: 1, transferMs: -1 }], PRIOR).samples).toBe(0);
  });
});

describe('linkForRound', () => {
  const options = { prior: PRIOR, minSamples: 3, staleMs: 10_000 };
  const at = (timeMs: number, bytes: number, transferMs: number) => ({ timeMs, bytes, transferMs });

  it('fits a window with enough transfers, keeps the estimate through a short gap, returns to the prior when stale', () => {
    let state: LinkRoundState = { estimate: priorEstimate(PRIOR) };
    state = linkForRound(state, [at(1_000, 1_000, 21.6), at(1_100, 100_000, 180), at(1_200, 50_000, 100)], 1_500, options);
    expect(state.estimate.bandwidthFitted).toBe(true);
    expect(state.estimate.bandwidthMbps).toBeCloseTo(5, 0);
    const slow = state.estimate;
    // Everything moved to the edge: no transfers in the window.
    state = linkForRound(state, [], 9_000, options);
    expect(state.estimate).toBe(slow);
    state = linkForRound(state, [], 11_201, options);
    expect(state.estimate).toEqual(priorEstimate(PRIOR));
    expect(state.lastSampleMs).toBe(1_200);
  });

  it('returns the bandwidth to the prior when one size of transfer has not confirmed it for staleMs', () => {
    let state: LinkRoundState = { estimate: priorEstimate(PRIOR) };
    // Three sizes on a 5 Mbit/s link: identified at t = 1,500.
    state = linkForRound(state, [at(1_000, 1_000, 21.6), at(1_100, 100_000, 180), at(1_200, 50_000, 100)], 1_500, options);
    expect(state.identifiedMs).toBe(1_500);
    // Then one small size only, round after round: the slow bandwidth stands until staleMs has passed ...
    const small = (t: number) => [at(t, 1_000, 22), at(t + 10, 1_000, 23), at(t + 20, 1_000, 22.5)];
    state = linkForRound(state, small(5_000), 6_000, options);
    expect(state.estimate.bandwidthFitted).toBe(false);
    expect(state.estimate.bandwidthMbps).toBeCloseTo(5, 0);
    // ... then the prior's, with the round trip these transfers show under it.
    state = linkForRound(state, small(11_000), 12_000, options);
    expect(state.estimate.bandwidthMbps).toBe(100);
    expect(state.estimate.rttMs).toBeGreaterThan(21);
    expect(state.estimate.rttMs).toBeLessThan(23);
  });

  it('keeps the estimate while a window has too few transfers to fit', () => {
    const start: LinkRoundState = { estimate: { ...priorEstimate(PRIOR), bandwidthMbps: 7 } };
    expect(linkForRound(start, [at(5, 10, 1)], 6, options).estimate.bandwidthMbps).toBe(7);
  });
});
