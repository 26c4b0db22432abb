/**
 * Hypervolume (Zitzler & Thiele 1998): the volume of objective space a front dominates up to a
 * reference point — one number to compare an approximate front (NSGA-II's) with the exact one.
 * Objectives are normalized to [0, 1] as minimization (latency, energy, 1 - accuracy scaled), so the
 * three units weigh alike. Exact for three objectives by slicing (HSO, While et al. 2006): sweep the
 * third objective, and in each slab add the 2-D area the points below it dominate; O(n^2).
 */
import type { Objectives } from './front.ts';

export type Point3 = readonly [number, number, number];

export interface ObjectiveBounds {
  min: Objectives;
  max: Objectives;
}

/** Default reference point in normalized space: 10% beyond the worst value of each objective. */
export const DEFAULT_REFERENCE: Point3 = [1.1, 1.1, 1.1];

/** Exact volume dominated by `points` (all objectives minimized) and bounded by `reference`. */
export function hypervolume3(points: readonly Point3[], reference: Point3 = DEFAULT_REFERENCE): number {
  const inside = points.filter((p) => p[0] < reference[0] && p[1] < reference[1] && p[2] < reference[2]);
  inside.sort((a, b) => a[2] - b[2]);
  // Points seen so far, kept sorted by the first objective for the 2-D sweep.
  const slice: Point3[] = [];
  let volume = 0;
  for (let i = 0; i < inside.length; i++) {
    insertSorted(slice, inside[i]);
    const top = i + 1 < inside.length ? inside[i + 1][2] : reference[2];
    if (top > inside[i][2]) volume += area2(slice, reference) * (top - inside[i][2]);
  }
  return volume;
}

/** Area dominated in the first two objectives by points sorted by the first. */
function area2(sorted: readonly Point3[], reference: Point3): number {
  let area = 0;
  let lowestY = reference[1];
  for (const p of sorted) {
    if (p[1] >= lowestY) continue;
    area += (reference[0] - p[0]) * (lowestY - p[1]);
    lowestY = p[1];
  }
  return area;
}

function insertSorted(sorted: Point3[], p: Point3): void {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid][0] <= p[0]) lo = mid + 1;
    else hi = mid;
  }
  sorted.splice(lo, 0, p);
}

/** Smallest and largest value of each objective over all the sets. */
export function objectiveBounds(...sets: readonly (readonly Objectives[])[]): ObjectiveBounds {
  const min = { latencyMs: Infinity, energyJ: Infinity, accuracy: Infinity };
  const max = { latencyMs: -Infinity, energyJ: -Infinity, accuracy: -Infinity };
  for (const p of sets.flat()) {
    for (const key of ['latencyMs', 'energyJ', 'accuracy'] as const) {
      min[key] = Math.min(min[key], p[key]);
      max[key] = Math.max(max[key], p[key]);
    }
  }
  return { min, max };
}

/** Into [0, 1], all minimized: accuracy becomes (best - accuracy) / range. A zero range maps to 0. */
export function normalize(p: Objectives, bounds: ObjectiveBounds): Point3 {
  const scale = (value: number, low: number, high: number) => (high > low ? (value - low) / (high - low) : 0);
  return [
    scale(p.latencyMs, bounds.min.latencyMs, bounds.max.latencyMs),
    scale(p.energyJ, bounds.min.energyJ, bounds.max.energyJ),
    scale(bounds.max.accuracy - p.accuracy, 0, bounds.max.accuracy - bounds.min.accuracy),
  ];
}

/** Normalized hypervolume of a front (points outside the bounds are clipped by the reference). */
export function frontHypervolume(front: readonly Objectives[], bounds: ObjectiveBounds, reference: Point3 = DEFAULT_REFERENCE): number {
  return hypervolume3(front.map((p) => normalize(p, bounds)), reference);
}

/** Hypervolume of `approx` over that of `exact`, both normalized to the bounds of their union. */
export function hypervolumeRatio(approx: readonly Objectives[], exact: readonly Objectives[], reference: Point3 = DEFAULT_REFERENCE): number {
  const bounds = objectiveBounds(exact, approx);
  const whole = frontHypervolume(exact, bounds, reference);
  return whole > 0 ? frontHypervolume(approx, bounds, reference) / whole : approx.length > 0 ? 1 : 0;
}
