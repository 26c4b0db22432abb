/**
 * The link model transfer = rtt + bytes·8 / bandwidth, fitted to measured transfers by least squares,
 * with its spread; and how an estimate evolves from round to round (linkForRound).
 *
 * Only the slope of time against size says anything about the bandwidth. Transfers of one size (or of
 * sizes too close together for the slope to stand out of the timing noise) cannot separate a slow link
 * from a long round trip: then the bandwidth stays as it was (the previous estimate or the prior) and
 * only the level is fitted, with `bandwidthFitted: false`. So small-tensor traffic alone never reads as a
 * slow link; it reads as the round trip it measures.
 */
import type { LinkModel } from './estimates.ts';

export interface LinkSample {
  bytes: number;
  /** ms on the link (round trip minus the worker's own time). */
  transferMs: number;
}

export interface LinkEstimate extends LinkModel {
  /** Transfers the estimate rests on (0: it is the prior). */
  samples: number;
  /** Whether the bandwidth comes from these transfers (sizes varied enough) or was kept from before. */
  bandwidthFitted: boolean;
  /** ms; standard deviation of the residuals (NaN below 3 samples). */
  residualStdMs: number;
  /** Mbit/s; ~95% interval (±2 standard errors of the slope); [x, x] when kept, upper Infinity when the slope may be 0. */
  bandwidthRangeMbps: [number, number];
  /** ms; ~95% interval of the round trip. */
  rttRangeMs: [number, number];
}

/**
 * Slope / its standard error needed before the bandwidth is taken from the fit: at 4 the ~95% interval
 * of the slope is within ±50% of it. Below that the sizes did not vary enough for the noise.
 */
export const MIN_SLOPE_T = 4;
/** Samples a fit needs: two for a line, one more for its spread. */
export const MIN_FIT_SAMPLES = 3;

/** Mbit/s from ms per byte (bits per ms are kbit/s, hence the 1000). */
const mbpsOf = (msPerByte: number): number => (msPerByte > 0 ? 8 / (msPerByte * 1000) : Infinity);

/** The prior as an estimate resting on no transfer. */
export function priorEstimate(prior: LinkModel): LinkEstimate {
  return {
    ...prior, samples: 0, bandwidthFitted: false, residualStdMs: Number.NaN,
    bandwidthRangeMbps: [prior.bandwidthMbps, prior.bandwidthMbps], rttRangeMs: [prior.rttMs, prior.rttMs],
  };
}

/**
 * Least squares over (bytes, ms). `previous` supplies the bandwidth when the slope is not identified
 * (and everything when there are no samples).
 */
export function fitLink(samples: readonly LinkSample[], previous: LinkModel): LinkEstimate {
  const points = samples.filter((s) => Number.isFinite(s.bytes) && Number.isFinite(s.transferMs) && s.bytes >= 0 && s.transferMs >= 0);
  const n = points.length;
  if (n === 0) return priorEstimate(previous);
  let mx = 0;
  let my = 0;
  for (const p of points) {
    mx += p.bytes / n;
    my += p.transferMs / n;
  }
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const p of points) {
    sxx += (p.bytes - mx) ** 2;
    sxy += (p.bytes - mx) * (p.transferMs - my);
    syy += (p.transferMs - my) ** 2;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  const dof = n - 2;
  const residualStdMs = dof > 0 ? Math.sqrt(Math.max(0, syy - slope * sxy) / dof) : Number.NaN;
  const slopeSe = sxx > 0 ? residualStdMs / Math.sqrt(sxx) : Infinity;
  if (n >= MIN_FIT_SAMPLES && slope > 0 && slope >= MIN_SLOPE_T * slopeSe) {
    const rttSe = residualStdMs * Math.sqrt(1 / n + (mx * mx) / sxx);
    const rttMs = Math.max(0, my - slope * mx);
    return {
      bandwidthMbps: mbpsOf(slope), rttMs, samples: n, bandwidthFitted: true, residualStdMs,
      bandwidthRangeMbps: [mbpsOf(slope + 2 * slopeSe), mbpsOf(slope - 2 * slopeSe)],
      rttRangeMs: [Math.max(0, rttMs - 2 * rttSe), rttMs + 2 * rttSe],
    };
  }
  // Not identified: keep the bandwidth; the level (rtt) is what these transfers do say.
  const keptSlope = (8 / (previous.bandwidthMbps * 1000));
  let level = 0;
  let levelSq = 0;
  for (const p of points) {
    const r = p.transferMs - keptSlope * p.bytes;
    level += r / n;
    levelSq += (r * r) / n;
  }
  const spread = n > 1 ? Math.sqrt(Math.max(0, (levelSq - level * level) * (n / (n - 1)))) : Number.NaN;
  const rttMs = Math.max(0, level);
  const rttSe = n > 1 ? spread / Math.sqrt(n) : Infinity;
  return {
    bandwidthMbps: previous.bandwidthMbps, rttMs, samples: n, bandwidthFitted: false, residualStdMs: spread,
    bandwidthRangeMbps: [previous.bandwidthMbps, previous.bandwidthMbps], rttRangeMs: [Math.max(0, rttMs - 2 * rttSe), rttMs + 2 * rttSe],
  };
}

export interface LinkRoundOptions {
  /** What is assumed before anything is measured (the optimizer's --link-mbps, --link-rtt-ms). */
  prior: LinkModel;
  /** Transfers needed before they replace the current estimate. */
  minSamples: number;
  /**
   * ms without any transfer after which the estimate returns to the prior. While every request runs
   * on the edge nothing measures the link; returning to the prior lets the optimizer offload again,
   * and those requests measure the link afresh: a recovered link is noticed, a still-slow one brings
   * the slow estimate back after one window. This is the exploration, bounded to one round of offloaded
   * requests per `staleMs`.
   */
  staleMs: number;
}

export interface LinkRoundState {
  estimate: LinkEstimate;
  /** ms since the epoch of the newest transfer seen; undefined before any. */
  lastSampleMs?: number;
}

/**
 * One round: fit the window's transfers when there are enough of them, the current bandwidth as the
 * fallback; else keep the current estimate until it is stale, then go back to the prior.
 */
export function linkForRound(state: LinkRoundState, window: readonly (LinkSample & { timeMs: number })[], nowMs: number, options: LinkRoundOptions): LinkRoundState {
  const newest = window.reduce<number | undefined>((t, s) => (t === undefined || s.timeMs > t ? s.timeMs : t), state.lastSampleMs);
  if (window.length >= options.minSamples) return { estimate: fitLink(window, state.estimate), lastSampleMs: newest };
  if (newest !== undefined && nowMs - newest > options.staleMs) return { estimate: priorEstimate(options.prior), lastSampleMs: newest };
  return { estimate: state.estimate, lastSampleMs: newest };
}
