import { describe, expect, it } from 'vitest';
import { tensorRng } from '../../../common/index.ts';
import { frontHypervolume, hypervolume3, hypervolumeRatio, normalize, objectiveBounds, type Point3 } from '../../../pareto/index.ts';

/** Exact by cells: the grid of all coordinates; a cell counts when a point is <= its lower corner. */
function gridVolume(points: Point3[], ref: Point3): number {
  const axes = [0, 1, 2].map((d) => [...new Set([...points.map((p) => Math.min(p[d], ref[d])), ref[d]])].sort((a, b) => a - b));
  let volume = 0;
  for (let i = 0; i + 1 < axes[0].length; i++) {
    for (let j = 0; j + 1 < axes[1].length; j++) {
      for (let k = 0; k + 1 < axes[2].length; k++) {
        const corner = [axes[0][i], axes[1][j], axes[2][k]];
        if (points.some((p) => p[0] <= corner[0] && p[1] <= corner[1] && p[2] <= corner[2])) {
          volume += (axes[0][i + 1] - axes[0][i]) * (axes[1][j + 1] - axes[1][j]) * (axes[2][k + 1] - axes[2][k]);
        }
      }
    }
  }
  return volume;
}

describe('hypervolume (3 objectives, exact)', () => {
  const ref: Point3 = [1, 1, 1];

  it('matches hand-computed examples', () => {
    expect(hypervolume3([], ref)).toBe(0);
    expect(hypervolume3([[0.5, 0.5, 0.5]], ref)).toBeCloseTo(0.125, 12);
    // Two boxes of 0.25 overlapping in a cube of 0.125.
    expect(hypervolume3([[0, 0.5, 0.5], [0.5, 0, 0.5]], ref)).toBeCloseTo(0.375, 12);
    // 0.5 + 0.25 - overlap [0.5,1]^2 x [0.5,1] = 0.125.
    expect(hypervolume3([[0, 0, 0.5], [0.5, 0.5, 0]], ref)).toBeCloseTo(0.625, 12);
    // A dominated point and one beyond the reference add nothing.
    expect(hypervolume3([[0.5, 0.5, 0.5], [0.6, 0.7, 0.5], [0, 0, 1.2]], ref)).toBeCloseTo(0.125, 12);
    expect(hypervolume3([[0, 0, 0]], ref)).toBe(1);
  });

  it('agrees with a cell-by-cell computation on random sets', () => {
    for (let seed = 0; seed < 40; seed++) {
      const rng = tensorRng(seed, 'hv-test');
      const points = Array.from({ length: 1 + (seed % 9) }, () => [rng.nextFloat(), rng.nextFloat(), rng.nextFloat()] as Point3);
      expect(hypervolume3(points, [1.1, 1.1, 1.1])).toBeCloseTo(gridVolume(points, [1.1, 1.1, 1.1]), 10);
    }
  });

  it('normalizes latency and energy up, accuracy down, and compares fronts by ratio', () => {
    const exact = [{ latencyMs: 10, energyJ: 5, accuracy: 0.9 }, { latencyMs: 20, energyJ: 1, accuracy: 0.8 }];
    const bounds = objectiveBounds(exact);
    expect(normalize(exact[0], bounds)).toEqual([0, 1, 0]);
    expect(normalize(exact[1], bounds)).toEqual([1, 0, 1]);
    expect(frontHypervolume(exact, bounds, [1, 1, 1])).toBe(0);
    expect(hypervolumeRatio(exact, exact)).toBeCloseTo(1, 12);
    expect(hypervolumeRatio([exact[0]], exact)).toBeLessThan(1);
    expect(hypervolumeRatio([exact[0]], exact)).toBeGreaterThan(0);
  });
});
