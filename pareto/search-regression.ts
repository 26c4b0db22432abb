/**
 * The model-guided search's cost model: Bayesian linear regression (ridge with a posterior) on
 * one-hot features of the knobs — one per value of each knob (main effects) and one per pair of values
 * of two knobs (interactions: a frequency's effect depends on the cut, a codec's on the tensor the
 * cut sends). Fitted on standardized targets (log latency, log energy, accuracy), all three share
 * the posterior covariance; the predictive standard deviation says where the model has seen too little. Bishop, Pattern Recognition and Machine
 * Learning (2006), §3.3: S = (Λ + XᵀX/σ²)⁻¹, m = S Xᵀy/σ², var(x) = σ² + xᵀSx.
 */

/** Which one-hot features a configuration has: main effects, then as many knob pairs as fit the cap. */
export interface FeatureMap {
  radices: readonly number[];
  /** Offset of each gene's main effects, -1 when the gene has one value (no effect to fit). */
  main: number[];
  /** Knob pairs kept: genes a < b and the offset of their a-value x b-value block. */
  pairs: { a: number; b: number; offset: number }[];
  size: number;
  /** Features per configuration: main effects plus kept pairs. */
  perConfig: number;
}

/** Prior standard deviations, in standard deviations of the target: interactions smaller than main effects. */
const PRIOR_SD = { main: 1, pair: 0.5 };
/** Observation noise, in standard deviations of the target (runs vary by a few percent). */
const NOISE_SD = 0.1;
/** Cap on features: each observation and each fit costs O(p²). */
export const MAX_FEATURES = 320;

/**
 * Main effects of every knob with two values or more; then pairs, those with the cut (gene 0) first
 * (where the split falls decides what every other knob acts on), smaller blocks first, while under the cap.
 */
export function featureMap(radices: readonly number[], maxFeatures = MAX_FEATURES): FeatureMap {
  let size = 0;
  const main = radices.map((r) => (r > 1 ? (size += r) - r : -1));
  const candidates: { a: number; b: number; cells: number }[] = [];
  for (let a = 0; a < radices.length; a++) {
    for (let b = a + 1; b < radices.length; b++) if (radices[a] > 1 && radices[b] > 1) candidates.push({ a, b, cells: radices[a] * radices[b] });
  }
  candidates.sort((x, y) => Number(x.a !== 0) - Number(y.a !== 0) || x.cells - y.cells || x.a - y.a || x.b - y.b);
  const pairs: FeatureMap['pairs'] = [];
  for (const c of candidates) {
    if (size + c.cells > maxFeatures) continue;
    pairs.push({ a: c.a, b: c.b, offset: size });
    size += c.cells;
  }
  return { radices, main, pairs, size, perConfig: main.filter((m) => m >= 0).length + pairs.length };
}

/** Writes the feature indices of `genes` into out[at .. at + perConfig). */
export function featuresOf(map: FeatureMap, genes: ArrayLike<number>, out: Int32Array, at = 0): void {
  let k = at;
  for (let g = 0; g < map.main.length; g++) if (map.main[g] >= 0) out[k++] = map.main[g] + genes[g];
  for (const { a, b, offset } of map.pairs) out[k++] = offset + genes[a] * map.radices[b] + genes[b];
}

/**
 * The posterior, updated one observation at a time: S starts as the prior covariance (diagonal) and
 * each observed configuration x updates it by Sherman-Morrison, S - (Sx)(Sx)ᵀ / (σ² + xᵀSx): O(p·k + p²)
 * per observation for k features of p, where refactoring S from scratch would cost O(p³) per fit.
 * Targets are standardized when the weights are computed, from running sums: Xᵀy, Xᵀ1, Σy, Σy².
 */
export class Posterior {
  readonly p: number;
  readonly k: number;
  /** Posterior covariance of the weights, p x p row-major (standardized units). */
  private readonly cov: Float64Array;
  private readonly xty: Float64Array[];
  private readonly counts: Float64Array;
  private readonly sums: Float64Array;
  private readonly squares: Float64Array;
  private rows = 0;
  private readonly sx: Float64Array;

  constructor(readonly map: FeatureMap, readonly targets: number) {
    const p = (this.p = map.size);
    this.k = map.perConfig;
    this.cov = new Float64Array(p * p);
    for (let g = 0; g < map.main.length; g++) {
      if (map.main[g] >= 0) for (let v = 0; v < map.radices[g]; v++) this.cov[(map.main[g] + v) * (p + 1)] = PRIOR_SD.main ** 2;
    }
    for (const { offset, a, b } of map.pairs) {
      for (let c = 0; c < map.radices[a] * map.radices[b]; c++) this.cov[(offset + c) * (p + 1)] = PRIOR_SD.pair ** 2;
    }
    this.xty = Array.from({ length: targets }, () => new Float64Array(p));
    this.counts = new Float64Array(p);
    this.sums = new Float64Array(targets);
    this.squares = new Float64Array(targets);
    this.sx = new Float64Array(p);
  }

  /** One observation: the configuration's features (features[at .. at + k)) and its target values. */
  add(features: Int32Array, at: number, y: ArrayLike<number>): void {
    const { p, k, cov, sx } = this;
    sx.fill(0);
    for (let i = 0; i < k; i++) {
      const f = features[at + i];
      for (let r = 0; r < p; r++) sx[r] += cov[r * p + f];
    }
    let xsx = 0;
    for (let i = 0; i < k; i++) xsx += sx[features[at + i]];
    const d = NOISE_SD * NOISE_SD + xsx;
    for (let r = 0; r < p; r++) {
      const scaled = sx[r] / d;
      if (scaled === 0) continue;
      for (let c = 0; c < p; c++) cov[r * p + c] -= scaled * sx[c];
    }
    for (let i = 0; i < k; i++) this.counts[features[at + i]]++;
    for (let t = 0; t < this.targets; t++) {
      for (let i = 0; i < k; i++) this.xty[t][features[at + i]] += y[t];
      this.sums[t] += y[t];
      this.squares[t] += y[t] * y[t];
    }
    this.rows++;
  }

  /** The weights of every target, with the target's mean and standard deviation, for predict(). */
  fit(): Fit {
    const { p, cov } = this;
    const noise = NOISE_SD * NOISE_SD;
    const center: number[] = [];
    const scale: number[] = [];
    const weights = this.xty.map((xty, t) => {
      const mean = this.rows > 0 ? this.sums[t] / this.rows : 0;
      const sd = Math.sqrt(Math.max(0, this.squares[t] / Math.max(1, this.rows) - mean * mean)) || 1;
      center.push(mean);
      scale.push(sd);
      const b = Float64Array.from(xty, (v, f) => (v - mean * this.counts[f]) / sd / noise);
      const w = new Float64Array(p);
      for (let i = 0; i < p; i++) {
        let s = 0;
        for (let j = 0; j < p; j++) s += cov[i * p + j] * b[j];
        w[i] = s;
      }
      return w;
    });
    return { weights, center, scale };
  }

  /**
   * Prediction for the configuration whose features start at features[at]: per target the mean (in the
   * target's units) into `mean`; returns the predictive standard deviation in standardized units (shared).
   */
  predict(fit: Fit, features: Int32Array, at: number, mean: Float64Array): number {
    const { p, k, cov } = this;
    for (let t = 0; t < fit.weights.length; t++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += fit.weights[t][features[at + i]];
      mean[t] = fit.center[t] + fit.scale[t] * s;
    }
    let v = NOISE_SD * NOISE_SD;
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) v += cov[features[at + i] * p + features[at + j]];
    return Math.sqrt(v);
  }
}

export interface Fit {
  /** Per target: weights (standardized units), the target's mean and standard deviation. */
  weights: Float64Array[];
  center: number[];
  scale: number[];
}
