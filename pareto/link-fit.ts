/**
 * The link model transfer = rtt + bytes·8 / bandwidth, fitted to measured transfers (a robust least
 * squares: quantile regression), with its spread; and how an estimate evolves from round to round (linkForRound).
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
  /** ms; robust standard deviation of the residuals (1.4826·MAD; NaN below 2 samples). */
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
 * The line under the transfers: quantile regression at LINK_QUANTILE (iteratively reweighted least
 * squares). Delays on a path are one-sided (a queue, a busy machine only ever add time) and come in
 * bursts, so the mean of the transfers drifts with the load while their lower quantile stays on the
 * path's own cost (as BBR takes the minimum RTT rather than the mean). The spread is 1.4826·MAD of the
 * residuals, robust in the same way; the slope counts as identified when it is MIN_SLOPE_T standard
 * errors (spread / √Sxx) above 0. `previous` supplies the bandwidth when it is not (and everything
 * when there are no samples).
 */
export function fitLink(samples: readonly LinkSample[], previous: LinkModel): LinkEstimate {
  const points = samples.filter((s) => Number.isFinite(s.bytes) && Number.isFinite(s.transferMs) && s.bytes >= 0 && s.transferMs >= 0);
  const n = points.length;
  if (n === 0) return priorEstimate(previous);
  const mx = points.reduce((a, p) => a + p.bytes, 0) / n;
  const sxx = points.reduce((a, p) => a + (p.bytes - mx) ** 2, 0);
  const line = n >= MIN_FIT_SAMPLES && sxx > 0 ? quantileLine(points) : undefined;
  if (line && line.slope > 0) {
    const spread = robustSpread(points.map((p) => p.transferMs - line.intercept - line.slope * p.bytes));
    const slopeSe = spread / Math.sqrt(sxx);
    if (line.slope >= MIN_SLOPE_T * slopeSe) {
      const rttSe = spread * Math.sqrt(1 / n + (mx * mx) / sxx);
      const rttMs = Math.max(0, line.intercept);
      return {
        bandwidthMbps: mbpsOf(line.slope), rttMs, samples: n, bandwidthFitted: true, residualStdMs: spread,
        bandwidthRangeMbps: [mbpsOf(line.slope + 2 * slopeSe), mbpsOf(line.slope - 2 * slopeSe)],
        rttRangeMs: [Math.max(0, rttMs - 2 * rttSe), rttMs + 2 * rttSe],
      };
    }
  }
  // Not identified: keep the bandwidth; the level (rtt) is what these transfers do say.
  const keptSlope = 8 / (previous.bandwidthMbps * 1000);
  const levels = points.map((p) => p.transferMs - keptSlope * p.bytes).sort((a, b) => a - b);
  const rttMs = Math.max(0, quantileSorted(levels, LINK_QUANTILE));
  const spread = n > 1 ? robustSpread(levels) : Number.NaN;
  const rttSe = n > 1 ? spread / Math.sqrt(n) : Infinity;
  return {
    bandwidthMbps: previous.bandwidthMbps, rttMs, samples: n, bandwidthFitted: false, residualStdMs: spread,
    bandwidthRangeMbps: [previous.bandwidthMbps, previous.bandwidthMbps], rttRangeMs: [Math.max(0, rttMs - 2 * rttSe), rttMs + 2 * rttSe],
  };
}

/** The quantile the line is fitted to: a quarter of the transfers below it. */
export const LINK_QUANTILE = 0.25;
/** Reweighting rounds of the quantile regression; it settles in a few dozen on transfer data. */
const IRLS_ROUNDS = 60;

/**
 * Quantile regression by iteratively reweighted least squares: the check loss ρ(r) = r·(q − [r < 0])
 * is least squares with weights ρ(r)/r², started from ordinary least squares.
 */
function quantileLine(points: readonly LinkSample[]): { intercept: number; slope: number } {
  let weights = points.map(() => 1);
  let line = { intercept: 0, slope: 0 };
  for (let round = 0; round < IRLS_ROUNDS; round++) {
    const next = weightedLine(points, weights);
    const settled = Math.abs(next.slope - line.slope) <= 1e-9 * Math.abs(next.slope) && Math.abs(next.intercept - line.intercept) <= 1e-6;
    line = next;
    if (settled) break;
    const residuals = points.map((p) => p.transferMs - line.intercept - line.slope * p.bytes);
    // A floor on |r| keeps points on the line from taking all the weight (ms; 1e-3 of the typical residual).
    const floor = 1e-9 + 1e-3 * quantileSorted(residuals.map(Math.abs).sort((a, b) => a - b), 0.5);
    weights = residuals.map((r) => (r >= 0 ? LINK_QUANTILE : 1 - LINK_QUANTILE) / Math.max(Math.abs(r), floor));
  }
  return line;
}

function weightedLine(points: readonly LinkSample[], weights: readonly number[]): { intercept: number; slope: number } {
  let sw = 0;
  let mx = 0;
  let my = 0;
  points.forEach((p, i) => {
    sw += weights[i]!;
    mx += weights[i]! * p.bytes;
    my += weights[i]! * p.transferMs;
  });
  mx /= sw;
  my /= sw;
  let sxx = 0;
  let sxy = 0;
  points.forEach((p, i) => {
    sxx += weights[i]! * (p.bytes - mx) ** 2;
    sxy += weights[i]! * (p.bytes - mx) * (p.transferMs - my);
  });
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { intercept: my - slope * mx, slope };
}

/** 1.4826·MAD: the standard deviation for normal residuals, unmoved by a few large delays. */
function robustSpread(residuals: readonly number[]): number {
  const sorted = [...residuals].sort((a, b) => a - b);
  const mid = quantileSorted(sorted, 0.5);
  return 1.4826 * quantileSorted(sorted.map((r) => Math.abs(r - mid)).sort((a, b) => a - b), 0.5);
}

/** Linear interpolation between order statistics. */
function quantileSorted(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

export interface LinkRoundOptions {
  /** What is assumed before anything is measured (the optimizer's --link-mbps, --link-rtt-ms). */
  prior: LinkModel;
  /** Transfers needed before they replace the current estimate. */
  minSamples: number;
  /**
   * ms after which a bandwidth no transfer has confirmed goes back to the prior's. Nothing measures the
   * bandwidth while every request runs on the edge (no transfers), nor while one configuration sends
   * tensors of one size (no slope): a slow estimate would then stand for ever. Going back to the prior
   * lets the optimizer offload other sizes again, and those requests measure the link afresh: a
   * recovered link is noticed, a still-slow one brings the slow estimate back after one window. This is
   * the exploration, bounded to about one window of such requests per `staleMs`.
   */
  staleMs: number;
}

export interface LinkRoundState {
  estimate: LinkEstimate;
  /** ms since the epoch of the newest transfer seen; undefined before any. */
  lastSampleMs?: number;
  /** ms since the epoch of the last round whose transfers identified the bandwidth; undefined before any. */
  identifiedMs?: number;
}

/**
 * One round: fit the window's transfers when there are enough of them, with the current bandwidth as
 * the fallback, or the prior's once the bandwidth has gone unconfirmed for `staleMs`; with too few
 * transfers keep the estimate, until the link has gone unmeasured for `staleMs`: then the prior.
 */
export function linkForRound(state: LinkRoundState, window: readonly (LinkSample & { timeMs: number })[], nowMs: number, options: LinkRoundOptions): LinkRoundState {
  const newest = window.reduce<number | undefined>((t, s) => (t === undefined || s.timeMs > t ? s.timeMs : t), state.lastSampleMs);
  const unconfirmed = state.identifiedMs !== undefined && nowMs - state.identifiedMs > options.staleMs;
  if (window.length >= options.minSamples) {
    const estimate = fitLink(window, unconfirmed ? options.prior : state.estimate);
    return { estimate, lastSampleMs: newest, identifiedMs: estimate.bandwidthFitted ? nowMs : state.identifiedMs };
  }
  const unmeasured = newest !== undefined && nowMs - newest > options.staleMs;
  if (unmeasured || unconfirmed) return { estimate: priorEstimate(options.prior), lastSampleMs: newest, identifiedMs: state.identifiedMs };
  return { ...state, lastSampleMs: newest };
}
