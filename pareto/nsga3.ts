/**
 * NSGA-III's survival (Deb & Jain 2014, "An Evolutionary Many-Objective Optimization Algorithm Using
 * Reference-Point-Based Nondominated Sorting Approach", IEEE TEC 18(4)), the selection DynaSplit used
 * (May et al. 2024). It replaces NSGA-II's crowding distance where the last admitted front must be
 * cut: the objectives of the survivors are normalized (ideal point, extreme points by the achievement
 * scalarizing function, intercepts of the hyperplane through them, §IV-C), each point is associated
 * with the nearest of a set of reference directions (Das & Dennis 1998 simplex lattice, §IV-B, E), and
 * the last front is admitted one point at a time to the direction with the fewest points so far
 * (niche preservation, §IV-F). nsga2.ts runs the rest of the loop; three objectives, all minimized
 * (latency, energy, and accuracy negated).
 */
import type { Rng } from '../common/index.ts';
import type { Objectives } from './front.ts';

type Vec = [number, number, number];

/** Das-Dennis directions on the unit simplex with `divisions` steps per axis: (d+1)(d+2)/2 of them. */
export function referenceDirections(divisions: number): Vec[] {
  const out: Vec[] = [];
  for (let i = 0; i <= divisions; i++) for (let j = 0; j <= divisions - i; j++) out.push([i / divisions, j / divisions, (divisions - i - j) / divisions]);
  return out;
}

/** The most divisions whose directions do not outnumber the population (Deb & Jain: about one per member). */
export function divisionsFor(populationSize: number): number {
  let d = 1;
  while (((d + 2) * (d + 3)) / 2 <= populationSize) d++;
  return d;
}

/**
 * Which members of `last` (indices) to admit, `count` of them, given the survivors already `kept`
 * (the whole fronts before it). Ties among least-crowded directions are broken by `rng`.
 */
export function nichePick(kept: readonly Objectives[], last: readonly Objectives[], count: number, directions: readonly Vec[], rng: Rng): number[] {
  const points = [...kept, ...last].map((o): Vec => [o.latencyMs, o.energyJ, -o.accuracy]);
  const normalized = normalizeByIntercepts(points);
  const nearest = normalized.map((p) => associate(p, directions));
  const niche = new Int32Array(directions.length);
  for (let i = 0; i < kept.length; i++) niche[nearest[i].direction]++;
  const open = new Set(directions.map((_, j) => j));
  const taken = new Uint8Array(last.length);
  const picked: number[] = [];
  while (picked.length < count && open.size > 0) {
    let least = Infinity;
    for (const j of open) least = Math.min(least, niche[j]);
    const candidates = [...open].filter((j) => niche[j] === least);
    const j = candidates[Math.floor(rng.nextFloat() * candidates.length)];
    const members: number[] = [];
    for (let i = 0; i < last.length; i++) if (!taken[i] && nearest[kept.length + i].direction === j) members.push(i);
    if (members.length === 0) { open.delete(j); continue; }
    // An empty niche takes its closest member; a populated one a random member (§IV-F).
    const pick = niche[j] === 0
      ? members.reduce((a, b) => (nearest[kept.length + b].distance < nearest[kept.length + a].distance ? b : a))
      : members[Math.floor(rng.nextFloat() * members.length)];
    taken[pick] = 1;
    picked.push(pick);
    niche[j]++;
  }
  return picked;
}

/** Translated by the ideal point and divided by the intercepts (§IV-C); the nadir where the hyperplane degenerates. */
function normalizeByIntercepts(points: readonly Vec[]): Vec[] {
  const ideal = [0, 1, 2].map((m) => Math.min(...points.map((p) => p[m])));
  const shifted = points.map((p): Vec => [p[0] - ideal[0], p[1] - ideal[1], p[2] - ideal[2]]);
  // Extreme point of axis m: the least max_i(f_i / w_i) with w = e_m (1e-6 on the other axes).
  const extremes = [0, 1, 2].map((m) => shifted.reduce((best, p) => (asf(p, m) < asf(best, m) ? p : best)));
  const nadir = [0, 1, 2].map((m) => Math.max(...shifted.map((p) => p[m])));
  const b = solve3(extremes);
  const intercepts = [0, 1, 2].map((m) => {
    const a = b && b[m] > 0 ? 1 / b[m] : NaN;
    const value = Number.isFinite(a) && a > 1e-10 ? a : nadir[m];
    return value > 1e-12 ? value : 1;
  });
  return shifted.map((p): Vec => [p[0] / intercepts[0], p[1] / intercepts[1], p[2] / intercepts[2]]);
}

function asf(p: Vec, axis: number): number {
  return Math.max(...p.map((v, i) => v / (i === axis ? 1 : 1e-6)));
}

/** b with E b = 1 (the hyperplane x · b = 1 through the three rows of E), by Cramer's rule; undefined when singular. */
function solve3(e: readonly Vec[]): Vec | undefined {
  const det = (m: readonly Vec[]) => m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
    - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const d = det(e);
  if (Math.abs(d) < 1e-12) return undefined;
  const column = (c: number) => det(e.map((row): Vec => row.map((v, i) => (i === c ? 1 : v)) as Vec)) / d;
  return [column(0), column(1), column(2)];
}

/** The direction whose line passes closest to p, and that perpendicular distance (§IV-E). */
function associate(p: Vec, directions: readonly Vec[]): { direction: number; distance: number } {
  let direction = 0;
  let distance = Infinity;
  directions.forEach((w, j) => {
    const norm = w[0] * w[0] + w[1] * w[1] + w[2] * w[2];
    const t = (p[0] * w[0] + p[1] * w[1] + p[2] * w[2]) / norm;
    const d = Math.hypot(p[0] - t * w[0], p[1] - t * w[1], p[2] - t * w[2]);
    if (d < distance) { distance = d; direction = j; }
  });
  return { direction, distance };
}
