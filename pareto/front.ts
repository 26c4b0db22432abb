/**
 * The exact Pareto front over latency (min), energy (min) and accuracy (max), and the policy built
 * from it. DynaSplit (May et al., 2024) approximated the front with NSGA-III over ~20% of the space;
 * over aggregated measurements (or a model of every configuration) the exact set costs one sort and
 * one sweep: O(n log n + F·S) for a front of F points whose 2-D staircase holds S <= F.
 *
 * Algorithm: sort by latency (then energy, then accuracy descending, then input order); in that order
 * every point that could dominate p comes before p, so p is on the front iff no point already on the
 * running front has energy <= p's and accuracy >= p's. That 2-D question is answered by the running
 * front's 2-D staircase (its points not beaten in both energy and accuracy, sorted by energy, so
 * accuracy rises along it): one binary search per point; only front points are inserted (an array
 * splice: quadratic only when nearly every point is on the front, ~0.1 s for 30k such points). The sort
 * ranks latencies with a native numeric sort and orders them by a counting sort (no comparator calls
 * but within equal latencies), since comparator sorts dominated the time on 30k-point spaces.
 *
 * Ties: a point equal to one already on the front in all three objectives is dropped, so equal points
 * are kept once — the first in input order (interchangeable for the online rule). Points equal in
 * some objectives and better in another are kept when nothing dominates them.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import type { Configuration, DecisionRule } from '../policy/index.ts';
import type { PolicyProperties } from '../schemas/index.ts';

export interface Objectives {
  latencyMs: number;
  energyJ: number;
  accuracy: number;
}

/** Indices of the front's points, in policy order (energy ascending, then accuracy descending). */
export function paretoIndices(latency: ArrayLike<number>, energy: ArrayLike<number>, accuracy: ArrayLike<number>): Int32Array {
  checkFinite(latency, energy, accuracy);
  const stairEnergy: number[] = [];
  const stairAccuracy: number[] = [];
  const front: number[] = [];
  for (const p of sweepOrder(latency, energy, accuracy)) {
    // Last staircase point with energy <= p's: the most accurate of those (accuracy rises along it).
    const at = upperBound(stairEnergy, energy[p]);
    if (at > 0 && stairAccuracy[at - 1] >= accuracy[p]) continue;
    front.push(p);
    // p beats the staircase points from `at - 1` (equal energy, less accurate) on while they are no more accurate.
    const from = at > 0 && stairEnergy[at - 1] === energy[p] ? at - 1 : at;
    let to = at;
    while (to < stairEnergy.length && stairAccuracy[to] <= accuracy[p]) to++;
    stairEnergy.splice(from, to - from, energy[p]);
    stairAccuracy.splice(from, to - from, accuracy[p]);
  }
  return Int32Array.from(front).sort((a, b) => energy[a] - energy[b] || accuracy[b] - accuracy[a] || latency[a] - latency[b] || a - b);
}

/** Indices by (latency, energy, accuracy descending, index). */
function sweepOrder(latency: ArrayLike<number>, energy: ArrayLike<number>, accuracy: ArrayLike<number>): Int32Array {
  const n = latency.length;
  const sorted = Float64Array.from(latency).sort();
  let levels = 0;
  for (let i = 0; i < n; i++) if (levels === 0 || sorted[i] !== sorted[levels - 1]) sorted[levels++] = sorted[i];
  const rank = new Int32Array(n);
  const start = new Int32Array(levels + 1);
  for (let i = 0; i < n; i++) {
    rank[i] = upperBound(sorted, latency[i], levels) - 1;
    start[rank[i] + 1]++;
  }
  for (let r = 1; r <= levels; r++) start[r] += start[r - 1];
  const order = new Int32Array(n);
  const next = start.slice(0, levels);
  for (let i = 0; i < n; i++) order[next[rank[i]]++] = i;
  // Equal latencies (rare in measurements) are ordered by the remaining keys.
  for (let r = 0; r < levels; r++) {
    if (start[r + 1] - start[r] > 1) order.subarray(start[r], start[r + 1]).sort((a, b) => energy[a] - energy[b] || accuracy[b] - accuracy[a] || a - b);
  }
  return order;
}

/** Number of `sorted[0..length)` values <= x. */
function upperBound(sorted: ArrayLike<number>, x: number, length = sorted.length): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The front of `points` (objects kept as given), in policy order. */
export function paretoFront<T extends Objectives>(points: readonly T[]): T[] {
  const indices = paretoIndices(
    Float64Array.from(points, (p) => p.latencyMs),
    Float64Array.from(points, (p) => p.energyJ),
    Float64Array.from(points, (p) => p.accuracy),
  );
  return Array.from(indices, (i) => points[i]);
}

/** Whether a is at least as good as b everywhere and better somewhere. */
export function dominates(a: Objectives, b: Objectives): boolean {
  return a.latencyMs <= b.latencyMs && a.energyJ <= b.energyJ && a.accuracy >= b.accuracy &&
    (a.latencyMs < b.latencyMs || a.energyJ < b.energyJ || a.accuracy > b.accuracy);
}

function checkFinite(...arrays: ArrayLike<number>[]): void {
  if (arrays.some((a) => a.length !== arrays[0].length)) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'front: objective arrays differ in length');
  for (const values of arrays) {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) {
        throw new DynasplitError(ErrorCodes.BAD_ARGS, `front: point ${i} has a non-finite objective (${values[i]})`, { details: { point: i } });
      }
    }
  }
}

/** A front point as a policy entry needs it. */
export interface FrontPoint extends Objectives {
  configuration: Configuration;
  /** 95th-percentile latency, ms (the 'energy-first-p95' rule decides on it). */
  latencyP95Ms: number;
}

export interface PolicyMeta {
  model: string;
  edgeClass: string;
  version: number;
  rule: DecisionRule;
  /** Where the figures come from: 'measured', 'modelled', 'emulated' or '' (schemas/pipeline.proto). */
  source: string;
}

/** The policy message for a front (entries in policy order, whatever order the front came in). */
export function frontToPolicy(front: readonly FrontPoint[], meta: PolicyMeta): PolicyProperties {
  const entries = [...front]
    .sort((a, b) => a.energyJ - b.energyJ || b.accuracy - a.accuracy || a.latencyMs - b.latencyMs)
    .map((p) => ({
      configuration: { ...p.configuration },
      latency_ms: p.latencyMs,
      latency_p95_ms: p.latencyP95Ms,
      energy_j: p.energyJ,
      accuracy: p.accuracy,
    }));
  return { version: meta.version, model: meta.model, edge_class: meta.edgeClass, rule: meta.rule, source: meta.source, entries };
}
