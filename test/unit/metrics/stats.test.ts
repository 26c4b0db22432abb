/** The pure parts: nearest-rank percentiles as InfluxQL defines them, source labels, the ring buffer. */
import { describe, expect, it } from 'vitest';
import { percentileIndex, percentileOfSorted } from '../../../metrics/index.ts';
import { RingBuffer } from '../../../metrics/ring-buffer.ts';
import { sourceLabel } from '../../../metrics/stats.ts';

describe('percentiles', () => {
  it('takes rank floor(n·p/100 + 0.5), as InfluxQL PERCENTILE does', () => {
    expect(percentileIndex(12, 95)).toBe(10); // 11.4 rounds to rank 11; ceil would give 12
    expect(percentileIndex(10, 95)).toBe(9); // 9.5 rounds up to rank 10
    expect(percentileIndex(4, 50)).toBe(1);
    expect(percentileIndex(1, 50)).toBe(0);
    expect(percentileIndex(1, 40)).toBe(-1); // rank 0: InfluxQL gives null
    expect(percentileIndex(0, 50)).toBe(-1);
    expect(percentileOfSorted([1, 2, 3], 50)).toBe(2);
    expect(percentileOfSorted([], 95)).toBeUndefined();
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
