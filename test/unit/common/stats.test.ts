/** The one statistics module: each definition on the cases where definitions in use elsewhere differ. */
import { describe, expect, it } from 'vitest';
import {
  influxPercentile, influxPercentileIndex, mean, median, medianByRank, medianOfSorted, nearestRank, nearestRankOf, percentile, sortedCopy,
} from '../../../common/index.ts';

describe('median', () => {
  it('is the middle value, or the mean of the middle two for an even count', () => {
    expect(median([7])).toBe(7);
    expect(median([10, 1, 3, 2])).toBe(2.5); // not 3, the upper middle
    expect(median([3, 1, 2])).toBe(2);
    expect(medianOfSorted([1, 2, 3, 10])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('from ranks alone gives what sorting gives', () => {
    const sorted = [1, 1, 2, 5, 8, 8];
    expect(medianByRank(sorted.length, (k) => sorted[k - 1])).toBe(medianOfSorted(sorted));
    expect(medianByRank(0, () => 1)).toBeNaN();
  });

  it('sorts numbers as numbers, on a copy', () => {
    const values = [10, 9, 100];
    expect(median(values)).toBe(10);
    expect(values).toEqual([10, 9, 100]);
    expect(Array.from(sortedCopy(values))).toEqual([9, 10, 100]);
  });
});

describe('nearest-rank percentile', () => {
  it('takes the ⌈q·n⌉-th smallest, at least the first', () => {
    expect(nearestRank([1, 2, 3], 0.95)).toBe(3);
    expect(nearestRank([7], 0.95)).toBe(7);
    expect(nearestRank(Array.from({ length: 100 }, (_, i) => i + 1), 0.95)).toBe(95);
    expect(nearestRankOf(12, 0.95)).toBe(12); // 11.4 rounds up
    expect(nearestRankOf(10, 0)).toBe(1);
    expect(nearestRankOf(0, 0.5)).toBe(0);
    expect(percentile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(percentile(Array.from({ length: 100 }, (_, i) => 100 - i), 0.99)).toBe(99);
    expect(nearestRank([], 0.5)).toBeNaN();
  });
});

describe('InfluxQL percentile', () => {
  it('takes rank floor(n·p/100 + 0.5), as InfluxQL PERCENTILE does', () => {
    expect(influxPercentileIndex(12, 95)).toBe(10); // 11.4 rounds to rank 11; nearest rank gives 12
    expect(influxPercentileIndex(10, 95)).toBe(9); // 9.5 rounds up to rank 10
    expect(influxPercentileIndex(4, 50)).toBe(1);
    expect(influxPercentileIndex(1, 50)).toBe(0);
    expect(influxPercentileIndex(1, 40)).toBe(-1); // rank 0: InfluxQL gives null
    expect(influxPercentileIndex(0, 50)).toBe(-1);
    expect(influxPercentile([1, 2, 3], 50)).toBe(2);
    expect(influxPercentile([], 95)).toBeUndefined();
  });
});

describe('mean', () => {
  it('is the arithmetic mean, NaN for none', () => {
    expect(mean([1, 2, 6])).toBe(3);
    expect(mean([])).toBeNaN();
  });
});
