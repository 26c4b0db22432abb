import { describe, expect, it } from 'vitest';
import { tensorRng } from '../../../common/index.ts';
import { dominates, hypervolumeRatio, nonDominatedFronts, nsga2, paretoFront, type Objectives } from '../../../pareto/index.ts';

/**
 * A random space with the structure of the real one: a cut splits work between a slow edge and a fast
 * cloud, frequency and threads speed up the edge at a power cost, codecs trade bytes for accuracy.
 * Some combinations are invalid. Values come from seeded tables plus per-configuration noise.
 */
function randomSpace(seed: number, radices: number[]) {
  const rng = tensorRng(seed, 'nsga2-space');
  const table = (n: number, low: number, high: number) => Array.from({ length: n }, () => low + (high - low) * rng.nextFloat());
  const [cuts, freqs, threads, accels, codecs, clouds] = radices;
  const head = table(cuts, 0, 1).sort((a, b) => a - b);
  const bytes = table(cuts, 0.05, 1);
  const speed = table(freqs, 0.4, 1).sort((a, b) => a - b);
  const parallel = table(threads, 1, 3).sort((a, b) => a - b);
  const accel = table(accels, 1, 4);
  const shrink = table(codecs, 0.25, 1);
  const loss = table(codecs, 0, 0.03);
  const cloud = table(clouds, 0.5, 2);
  const noise = (genes: ArrayLike<number>) => 1 + 0.05 * tensorRng(seed, Array.from(genes).join(',')).nextFloat();
  const evaluate = (g: ArrayLike<number>): Objectives | undefined => {
    if (g[3] === accels - 1 && g[2] === threads - 1) return undefined;
    if (g[0] === cuts - 1 && g[1] === 0) return undefined;
    const edgeMs = (100 * head[g[0]]) / (speed[g[1]] * parallel[g[2]] * accel[g[3]]);
    const linkMs = 40 * bytes[g[0]] * shrink[g[4]];
    const cloudMs = (20 * (1 - head[g[0]])) / cloud[g[5]];
    const n = noise(g);
    return {
      latencyMs: (edgeMs + linkMs + cloudMs) * n,
      energyJ: (edgeMs * speed[g[1]] ** 2 * parallel[g[2]] * 0.02 + linkMs * 0.01 + cloudMs * cloud[g[5]] * 0.05) * n,
      accuracy: 1 - loss[g[4]] * (1 - head[g[0]]),
    };
  };
  return { radices, evaluate };
}

function exactFront(space: ReturnType<typeof randomSpace>): Objectives[] {
  const all: Objectives[] = [];
  const genes = new Int32Array(space.radices.length);
  const visit = (g: number): void => {
    if (g === genes.length) {
      const o = space.evaluate(genes);
      if (o) all.push(o);
      return;
    }
    for (let v = 0; v < space.radices[g]; v++) { genes[g] = v; visit(g + 1); }
  };
  visit(0);
  return paretoFront(all);
}

const RADICES = [12, 7, 4, 3, 6, 2];
const SIZE = RADICES.reduce((a, b) => a * b, 1);

describe('NSGA-II', () => {
  it('is reproducible by seed', () => {
    const space = randomSpace(1, RADICES);
    const run = (seed: number) => nsga2({ ...space, budget: 400, seed });
    const a = run(7);
    const b = run(7);
    expect(b).toEqual(a);
    const others = [8, 9, 10].map((s) => run(s).front.map((p) => p.genes.join(',')).join(';'));
    expect(others.some((o) => o !== a.front.map((p) => p.genes.join(',')).join(';'))).toBe(true);
  });

  it('evaluates each genome at most once and stays within the budget', () => {
    const space = randomSpace(2, RADICES);
    const seen = new Map<string, number>();
    const result = nsga2({ ...space, budget: 300, seed: 3, evaluate: (g) => {
      seen.set(g.join(','), (seen.get(g.join(',')) ?? 0) + 1);
      return space.evaluate(g);
    } });
    expect(result.evaluations).toBe(300);
    expect(seen.size).toBe(300);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(result.valid).toBeLessThanOrEqual(300);
    for (const p of result.front) expect(space.evaluate(p.genes)).toBeDefined();
    for (const p of result.front) for (const q of result.front) expect(dominates(q, p)).toBe(false);
  });

  it('finds >= 90% of the exact front\'s hypervolume with 20% of the space (several seeds)', () => {
    for (const seed of [1, 2, 3, 4]) {
      const space = randomSpace(seed, RADICES);
      const exact = exactFront(space);
      const approx = nsga2({ ...space, budget: Math.round(0.2 * SIZE), seed });
      expect(hypervolumeRatio(approx.front, exact)).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('returns the exact front when the budget covers the whole space', () => {
    const space = randomSpace(5, [4, 3, 2, 2, 3, 2]);
    const result = nsga2({ ...space, budget: 10_000, populationSize: 12, seed: 1 });
    const exact = exactFront(space);
    expect(result.front.map(({ latencyMs, energyJ, accuracy }) => ({ latencyMs, energyJ, accuracy }))).toEqual(exact);
  });

  it('sorts into non-dominated fronts as the all-pairs definition says', () => {
    const rng = tensorRng(11, 'fronts');
    const points = Array.from({ length: 80 }, () => ({ latencyMs: Math.floor(rng.nextFloat() * 6), energyJ: Math.floor(rng.nextFloat() * 6), accuracy: Math.floor(rng.nextFloat() * 3) }));
    const fronts = nonDominatedFronts(points);
    expect(fronts.flat()).toHaveLength(points.length);
    fronts.forEach((front, rank) => {
      for (const p of front) {
        for (const q of front) expect(dominates(q, p)).toBe(false);
        if (rank > 0) expect(fronts[rank - 1].some((q) => dominates(q, p))).toBe(true);
      }
    });
  });
});
