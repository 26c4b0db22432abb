/**
 * The project's statistics, one definition of each (docs/architecture.md, "Statistics"):
 *
 * - mean: the arithmetic mean.
 * - median: the middle value, or the mean of the middle two for an even count.
 * - percentile (q in 0..1): nearest rank, the ⌈q·n⌉-th smallest (rank at least 1): the smallest value
 *   with at least a share q of the values at or below it (Hyndman & Fan 1996, definition 1). The
 *   nearest rank is always one of the values, so a p95 latency is a latency that was observed.
 * - InfluxQL's PERCENTILE: nearest rank with the rank rounded half up instead of up. Used only where
 *   figures must agree bit for bit with what an InfluxDB server computes (metrics/).
 *
 * None of them has a value for no values: they give NaN, and a caller that has a better answer for
 * "nothing measured" (a prior, a fallback) says so itself.
 */

/** Comparator for Array.prototype.sort: ascending numbers (the default sort compares strings). */
export const ascending = (a: number, b: number): number => a - b;

/** The values sorted ascending, in a new array (typed arrays sort numerically). */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** Arithmetic mean; NaN for no values. */
export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return values.length > 0 ? sum / values.length : NaN;
}

/** Median of values in any order (sorts a copy); NaN for no values. */
export function median(values: ArrayLike<number>): number {
  return medianOfSorted(sortedCopy(values));
}

/** Median of values already sorted ascending; NaN for no values. */
export function medianOfSorted(sorted: ArrayLike<number>): number {
  return medianByRank(sorted.length, (k) => sorted[k - 1]);
}

/**
 * Median of `n` values given only their k-th smallest (1-based `kth`): for tallies that count how
 * often each value occurs instead of keeping every value.
 */
export function medianByRank(n: number, kth: (k: number) => number): number {
  if (n === 0) return NaN;
  return n % 2 === 1 ? kth((n + 1) / 2) : (kth(n / 2) + kth(n / 2 + 1)) / 2;
}

/** The 1-based nearest rank ⌈q·n⌉ of the q-th quantile (q in 0..1) of `n` values, at least 1; 0 when n = 0. */
export function nearestRankOf(n: number, q: number): number {
  return n === 0 ? 0 : Math.min(n, Math.max(1, Math.ceil(q * n)));
}

/** Nearest-rank percentile (q in 0..1) of values already sorted ascending; NaN for no values. */
export function nearestRank(sorted: ArrayLike<number>, q: number): number {
  const rank = nearestRankOf(sorted.length, q);
  return rank === 0 ? NaN : sorted[rank - 1];
}

/** Nearest-rank percentile (q in 0..1) of values in any order (sorts a copy); NaN for no values. */
export function percentile(values: ArrayLike<number>, q: number): number {
  return nearestRank(sortedCopy(values), q);
}

/**
 * Zero-based index of the p-th (0..100) percentile in `n` sorted values as InfluxQL computes it, or
 * -1 when InfluxQL gives null: rank = floor(n·p/100 + 0.5) (influxdb 1.x query/call_iterator.go,
 * NewFloatPercentileReduceSliceFunc: `int(math.Floor(float64(len(a))*percentile/100.0+0.5)) - 1`),
 * evaluated in the same float64 operations and order so the index agrees bit for bit. It differs from
 * nearestRankOf when the fractional part of n·p/100 is below 0.5 (n = 12, p = 95: rank 11, not 12).
 */
export function influxPercentileIndex(n: number, p: number): number {
  const i = Math.floor((n * p) / 100 + 0.5) - 1;
  return i < 0 || i >= n ? -1 : i;
}

/** InfluxQL's p-th (0..100) percentile of values sorted ascending; undefined where InfluxQL gives null. */
export function influxPercentile(sorted: ArrayLike<number>, p: number): number | undefined {
  const i = influxPercentileIndex(sorted.length, p);
  return i < 0 ? undefined : sorted[i];
}
