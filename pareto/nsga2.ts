/**
 * NSGA-II (Deb, Pratap, Agarwal & Meyarivan 2002) for configuration spaces too large to enumerate or
 * to measure whole. DynaSplit (May et al., 2024) used NSGA-III over ~20% of its space; with three
 * objectives NSGA-II's crowding distance spreads the front as well and needs no reference directions;
 * NSGA-III's reference-point survival (nsga3.ts) is the `selection: 'reference-points'` option.
 *
 * The genome is one integer per knob (gene g in [0, radices[g])); `evaluate` returns the objectives
 * of a configuration, or undefined when it is invalid (it never enters a population). Each distinct
 * genome is evaluated at most once (a real evaluation is a measurement run) and the budget counts
 * those calls. Every random choice comes from one seeded sfc32 stream: same seed, same result.
 */
import { tensorRng, type Rng } from '../common/index.ts';
import { dominates, paretoFront, type Objectives } from './front.ts';
import { divisionsFor, nichePick, referenceDirections } from './nsga3.ts';

export interface Nsga2Options {
  /** Number of values of each gene. */
  radices: readonly number[];
  /** Objectives of the configuration the genes name, undefined when it is invalid. */
  evaluate: (genes: Int32Array) => Objectives | undefined;
  /** Distinct genomes evaluated, valid or not, at most. */
  budget: number;
  /** Default 40. */
  populationSize?: number;
  /** Default 0. */
  seed?: number;
  /** Probability that a child mixes its parents (uniform crossover); default 0.9. */
  crossoverRate?: number;
  /** Probability that a gene mutates; default 1 / number of genes. */
  mutationRate?: number;
  /**
   * How the last admitted front is cut: 'crowding' (NSGA-II, default), or 'reference-points' (NSGA-III,
   * nsga3.ts: niches around reference directions; parents are then drawn at random, as Deb & Jain 2014 do).
   */
  selection?: 'crowding' | 'reference-points';
}

export interface Individual extends Objectives {
  genes: Int32Array;
}

export interface Nsga2Result {
  /** Non-dominated set of every valid genome evaluated, in policy order. */
  front: Individual[];
  evaluations: number;
  /** Evaluations that returned objectives. */
  valid: number;
  generations: number;
}

interface Ranked extends Individual {
  rank: number;
  crowding: number;
}

// Give up after this many draws per wanted individual that yield nothing new (a tiny or spent space).
const TRIES_PER_CHILD = 20;
// Children can be genomes evaluated earlier (free); stop when generations no longer find new ones.
const MAX_STALLED_GENERATIONS = 50;

export function nsga2(options: Nsga2Options): Nsga2Result {
  const rng = tensorRng(options.seed ?? 0, 'optimizer/nsga2');
  const size = options.populationSize ?? 40;
  const evaluator = cachedEvaluator(options);
  const niche = options.selection === 'reference-points' ? nicheOf(size, rng) : undefined;
  let population = survivors(initialPopulation(options, rng, evaluator, size), size, niche);
  let generations = 0;
  let stalled = 0;
  while (evaluator.spent() < options.budget && stalled < MAX_STALLED_GENERATIONS) {
    const spent = evaluator.spent();
    const children = offspring(population, options, rng, evaluator, size, niche !== undefined);
    if (children.length === 0) break;
    population = survivors([...population, ...children], size, niche);
    generations++;
    stalled = evaluator.spent() === spent ? stalled + 1 : 0;
  }
  const archive = [...evaluator.cache.values()].filter((i): i is Individual => i !== null);
  return { front: paretoFront(archive), evaluations: evaluator.spent(), valid: archive.length, generations };
}

interface Evaluator {
  cache: Map<string, Individual | null>;
  /** The individual, null when invalid, undefined when the budget is spent and the genes are new. */
  get(genes: Int32Array): Individual | null | undefined;
  spent(): number;
}

function cachedEvaluator(options: Nsga2Options): Evaluator {
  const cache = new Map<string, Individual | null>();
  return {
    cache,
    spent: () => cache.size,
    get(genes) {
      const key = genes.join(',');
      if (cache.has(key)) return cache.get(key);
      if (cache.size >= options.budget) return undefined;
      const o = options.evaluate(genes);
      const individual = o ? { genes: Int32Array.from(genes), latencyMs: o.latencyMs, energyJ: o.energyJ, accuracy: o.accuracy } : null;
      cache.set(key, individual);
      return individual;
    },
  };
}

function initialPopulation(options: Nsga2Options, rng: Rng, evaluator: Evaluator, size: number): Individual[] {
  const population: Individual[] = [];
  const seen = new Set<string>();
  for (let tries = 0; population.length < size && tries < size * TRIES_PER_CHILD; tries++) {
    const genes = Int32Array.from(options.radices, (r) => randomInt(rng, r));
    const key = genes.join(',');
    if (seen.has(key)) continue;
    const individual = evaluator.get(genes);
    if (individual === undefined) break;
    if (individual === null) continue;
    seen.add(key);
    population.push(individual);
  }
  return population;
}

/** Up to `size` children not already in the population: tournament, uniform crossover, mutation. */
function offspring(population: Ranked[], options: Nsga2Options, rng: Rng, evaluator: Evaluator, size: number, randomParents: boolean): Individual[] {
  if (population.length === 0) return [];
  const seen = new Set(population.map((p) => p.genes.join(',')));
  const children: Individual[] = [];
  const crossoverRate = options.crossoverRate ?? 0.9;
  const mutationRate = options.mutationRate ?? 1 / options.radices.length;
  for (let tries = 0; children.length < size && tries < size * TRIES_PER_CHILD; tries++) {
    const a = randomParents ? population[randomInt(rng, population.length)] : tournament(population, rng);
    const b = randomParents ? population[randomInt(rng, population.length)] : tournament(population, rng);
    const mix = rng.nextFloat() < crossoverRate;
    const genes = a.genes.map((g, i) => (mix && rng.nextFloat() < 0.5 ? b.genes[i] : g));
    mutate(genes, options.radices, mutationRate, rng);
    const key = genes.join(',');
    if (seen.has(key)) continue;
    const child = evaluator.get(genes);
    if (child === undefined) break;
    seen.add(key);
    if (child !== null) children.push(child);
  }
  return children;
}

/** Binary tournament on Deb's crowded-comparison operator: lower rank, then larger crowding distance. */
function tournament(population: Ranked[], rng: Rng): Ranked {
  const a = population[randomInt(rng, population.length)];
  const b = population[randomInt(rng, population.length)];
  return b.rank < a.rank || (b.rank === a.rank && b.crowding > a.crowding) ? b : a;
}

function mutate(genes: Int32Array, radices: readonly number[], rate: number, rng: Rng): void {
  for (let g = 0; g < genes.length; g++) {
    if (radices[g] > 1 && rng.nextFloat() < rate) {
      // A different value, uniform over the other radices[g] - 1.
      const next = randomInt(rng, radices[g] - 1);
      genes[g] = next >= genes[g] ? next + 1 : next;
    }
  }
}

/** Which of `last` to admit after `kept`, `count` of them (NSGA-III's niching). */
type Niche = (kept: readonly Individual[], last: readonly Individual[], count: number) => number[];

function nicheOf(size: number, rng: Rng): Niche {
  const directions = referenceDirections(divisionsFor(size));
  return (kept, last, count) => nichePick(kept, last, count, directions, rng);
}

/** The next population: whole fronts in rank order, the last one cut by crowding distance (or by niche). */
function survivors(union: Individual[], size: number, niche?: Niche): Ranked[] {
  const next: Ranked[] = [];
  for (const front of nonDominatedFronts(union)) {
    const ranked = crowding(front, next.length === 0 ? 0 : next[next.length - 1].rank + 1);
    if (next.length + ranked.length <= size) next.push(...ranked);
    else if (niche) next.push(...niche(next, ranked, size - next.length).map((i) => ranked[i]));
    else next.push(...ranked.sort((x, y) => y.crowding - x.crowding).slice(0, size - next.length));
    if (next.length >= size) break;
  }
  return next;
}

/** Fast non-dominated sorting (Deb et al. 2002, §III-A): fronts F1, F2, ... in O(M N^2). */
export function nonDominatedFronts<T extends Objectives>(points: readonly T[]): T[][] {
  const dominatedBy = points.map(() => [] as number[]);
  const count = new Int32Array(points.length);
  for (let p = 0; p < points.length; p++) {
    for (let q = p + 1; q < points.length; q++) {
      if (dominates(points[p], points[q])) { dominatedBy[p].push(q); count[q]++; }
      else if (dominates(points[q], points[p])) { dominatedBy[q].push(p); count[p]++; }
    }
  }
  const fronts: T[][] = [];
  let current = points.map((_, i) => i).filter((i) => count[i] === 0);
  while (current.length > 0) {
    fronts.push(current.map((i) => points[i]));
    const next: number[] = [];
    for (const p of current) for (const q of dominatedBy[p]) if (--count[q] === 0) next.push(q);
    current = next.sort((a, b) => a - b);
  }
  return fronts;
}

/** Crowding distance (Deb et al. 2002, §III-B): boundary points infinite, others the normalized cuboid. */
function crowding(front: Individual[], rank: number): Ranked[] {
  const ranked: Ranked[] = front.map((p) => ({ ...p, rank, crowding: 0 }));
  for (const key of ['latencyMs', 'energyJ', 'accuracy'] as const) {
    const sorted = [...ranked].sort((a, b) => a[key] - b[key]);
    const range = sorted[sorted.length - 1][key] - sorted[0][key];
    sorted[0].crowding = sorted[sorted.length - 1].crowding = Infinity;
    if (range === 0) continue;
    for (let i = 1; i < sorted.length - 1; i++) sorted[i].crowding += (sorted[i + 1][key] - sorted[i - 1][key]) / range;
  }
  return ranked;
}

function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng.nextFloat() * n);
}
