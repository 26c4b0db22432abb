import { describe, expect, it } from 'vitest';
import { tensorRng } from '../../../common/index.ts';
import { compilePolicy, configuration, decide } from '../../../policy/index.ts';
import { dominates, frontToPolicy, paretoFront, paretoIndices, type Objectives } from '../../../pareto/index.ts';

/** Random points on a coarse grid, so equal values (ties and duplicates) are common. */
function randomPoints(seed: number, n: number, levels: number): Objectives[] {
  const rng = tensorRng(seed, 'front-test');
  const level = () => Math.floor(rng.nextFloat() * levels);
  return Array.from({ length: n }, () => ({ latencyMs: 10 * level(), energyJ: 0.5 * level(), accuracy: 1 - level() / 100 }));
}

/** O(n^2): on the front iff nothing dominates it and no equal point comes earlier. */
function bruteForce(points: Objectives[]): number[] {
  const equal = (a: Objectives, b: Objectives) => a.latencyMs === b.latencyMs && a.energyJ === b.energyJ && a.accuracy === b.accuracy;
  return points.map((_, i) => i).filter((i) => points.every((q, j) => !dominates(q, points[i]) && !(j < i && equal(q, points[i]))));
}

const policyOrder = (points: Objectives[], indices: ArrayLike<number>) => {
  for (let k = 1; k < indices.length; k++) {
    const a = points[indices[k - 1]];
    const b = points[indices[k]];
    expect(a.energyJ < b.energyJ || (a.energyJ === b.energyJ && a.accuracy >= b.accuracy)).toBe(true);
  }
};

describe('exact Pareto front', () => {
  it('equals the all-pairs brute force on random spaces with ties (200 seeds)', () => {
    for (let seed = 0; seed < 200; seed++) {
      const points = randomPoints(seed, 1 + (seed % 97), 2 + (seed % 7));
      const fast = [...paretoIndices(points.map((p) => p.latencyMs), points.map((p) => p.energyJ), points.map((p) => p.accuracy))];
      expect([...fast].sort((a, b) => a - b)).toEqual(bruteForce(points));
      policyOrder(points, fast);
    }
  });

  it('keeps equal points once (the first) and keeps points that tie in some objectives', () => {
    const p = (latencyMs: number, energyJ: number, accuracy: number) => ({ latencyMs, energyJ, accuracy });
    const points = [p(10, 2, 0.9), p(10, 2, 0.9), p(10, 1, 0.9), p(5, 2, 0.95), p(20, 1, 0.99), p(20, 1, 0.99), p(30, 1, 0.99)];
    expect([...paretoIndices(points.map((x) => x.latencyMs), points.map((x) => x.energyJ), points.map((x) => x.accuracy))]).toEqual([4, 2, 3]);
    expect(paretoFront(points)).toEqual([points[4], points[2], points[3]]);
  });

  it('returns the front in policy order: energy ascending, then accuracy descending', () => {
    const points = randomPoints(3, 2000, 40);
    const front = paretoFront(points);
    policyOrder(front, front.map((_, i) => i));
    expect(front.length).toBeGreaterThan(5);
  });

  it('handles the empty set and a single point', () => {
    expect(paretoFront([])).toEqual([]);
    expect(paretoFront([{ latencyMs: 1, energyJ: 1, accuracy: 1 }])).toHaveLength(1);
  });

  it('refuses non-finite objectives with a coded error', () => {
    expect(() => paretoFront([{ latencyMs: NaN, energyJ: 1, accuracy: 1 }])).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_ARGS' }));
  });
});

describe('frontToPolicy', () => {
  it('builds a policy in policy order that decide() reads as the DynaSplit rule', () => {
    const point = (cut: string, latencyMs: number, energyJ: number, accuracy = 1) =>
      ({ configuration: configuration({ cut, codec: 'fp16' }), latencyMs, latencyP95Ms: latencyMs * 1.5, energyJ, accuracy });
    const front = [point('input', 10, 9), point('a', 40, 3), point('output', 100, 1), point('b', 60, 2)];
    const policy = frontToPolicy(front, { model: 'vgg16', edgeClass: 'pi4', version: 3, rule: 'energy-first', source: 'measured' });
    expect(policy).toMatchObject({ model: 'vgg16', edge_class: 'pi4', version: 3, rule: 'energy-first', source: 'measured' });
    expect(policy.entries!.map((e) => e.configuration!.cut)).toEqual(['output', 'b', 'a', 'input']);
    expect(policy.entries![1]).toMatchObject({ latency_ms: 60, latency_p95_ms: 90, energy_j: 2, accuracy: 1 });
    expect(policy.entries![0].configuration!.name).toBe('edge-only');
    const compiled = compilePolicy(policy);
    expect(decide(compiled, 70)!.configuration.cut).toBe('b');
    expect(decide(compiled, 5)!.configuration.cut).toBe('input');
  });
});
