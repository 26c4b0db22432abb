import { describe, expect, it } from 'vitest';
import { tensorRng } from '../../../common/index.ts';
import { divisionsFor, hypervolumeRatio, nichePick, nsga2, paretoFront, referenceDirections, type Objectives } from '../../../pareto/index.ts';

const point = (latencyMs: number, energyJ: number, accuracy = 1): Objectives => ({ latencyMs, energyJ, accuracy });

describe('NSGA-III survival', () => {
  it('lays (d+1)(d+2)/2 reference directions on the unit simplex, about one per member', () => {
    const directions = referenceDirections(4);
    expect(directions).toHaveLength(15);
    for (const w of directions) expect(w[0] + w[1] + w[2]).toBeCloseTo(1, 12);
    expect(divisionsFor(40)).toBe(7); // 36 directions
    expect(divisionsFor(8)).toBe(2); // 6 directions
  });

  it('admits the point of an empty niche before another in a crowded one', () => {
    // Kept points crowd the fast, hungry end; the last front has one more there and one at the frugal end.
    const kept = [point(1, 10), point(1.1, 9.5), point(1.2, 9), point(10, 1)];
    const last = [point(1.05, 9.8), point(6, 3)];
    const directions = referenceDirections(4);
    for (let seed = 0; seed < 5; seed++) expect(nichePick(kept, last, 1, directions, tensorRng(seed, 't'))).toEqual([1]);
    expect(nichePick(kept, last, 2, directions, tensorRng(0, 't')).sort()).toEqual([0, 1]);
  });

  it('drives nsga2 as selection: reference-points, reproducibly, close to the exact front', () => {
    const rng = tensorRng(3, 'nsga3-space');
    const table = Array.from({ length: 12 * 8 * 6 }, () => rng.nextFloat());
    const evaluate = (g: ArrayLike<number>) => {
      const x = table[(g[0] * 8 + g[1]) * 6 + g[2]];
      return point(10 + 100 * (g[0] / 11) + 5 * x, 5 + 50 * (1 - g[0] / 11) + g[1] + 5 * x, 1 - 0.01 * g[2] * x);
    };
    const all: Objectives[] = [];
    for (let a = 0; a < 12; a++) for (let b = 0; b < 8; b++) for (let c = 0; c < 6; c++) all.push(evaluate([a, b, c]));
    const run = (seed: number) => nsga2({ radices: [12, 8, 6], evaluate, budget: 200, seed, selection: 'reference-points' });
    expect(run(1).front).toEqual(run(1).front);
    expect(hypervolumeRatio(run(1).front, paretoFront(all))).toBeGreaterThan(0.9);
  });
});
