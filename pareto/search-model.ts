/**
 * The model-guided search strategy. It measures first a small design that shows every value of
 * every knob at least once (what the model needs to tell the knobs apart), then repeats:
 *   1. fit latency, energy (both in logs: knobs act as factors) and accuracy to what was measured
 *      (search-regression.ts: per-knob effects and knob-pair interactions, with a posterior);
 *   2. predict every configuration not measured, optimistically: mean - KAPPA x sd for latency and
 *      energy, mean + KAPPA x sd for accuracy (an upper confidence bound, Srinivas et al. 2010);
 *   3. measure the one whose optimistic point would add the most hypervolume to the front measured so
 *      far (expected-improvement-like acquisition on the hypervolume, Emmerich et al. 2006), times the
 *      chance that it can be measured at all (estimated from the knob values and pairs of values that
 *      failed before: a head too large for the accelerator fails at every frequency).
 * With larger budgets it picks several per fit: after each pick its predicted mean joins the front
 * (the "kriging believer" heuristic, Ginsbourger et al. 2010), so a batch spreads along the front.
 * When no configuration can add anything, it measures where the model knows least.
 */
import { normalize, objectiveBounds, hypervolume3, type Point3 } from './hypervolume.ts';
import { paretoFront, type Objectives } from './front.ts';
import { featureMap, featuresOf, Posterior, type FeatureMap } from './search-regression.ts';
import type { Proposer, SearchContext } from './search-types.ts';
import { genesOf } from './space.ts';

/** Optimism, in predictive standard deviations. */
const KAPPA = 1;
/** Share of the budget the initial design may take (it takes at least the largest knob's value count). */
const INITIAL_SHARE = 0.25;
/** Refits over the whole search at most; the batch size follows from the budget. */
const MAX_FITS = 60;
/** Floor before the log (a pool without a meter records 0 J). */
const MIN_POSITIVE = 1e-9;

interface Candidates {
  count: number;
  indices: Uint32Array;
  genes: Int32Array[];
  map: FeatureMap;
  /** perConfig feature ids per configuration, configuration k at k * perConfig. */
  features: Int32Array;
  /** Configuration k's position by mixed-radix index. */
  position: Map<number, number>;
  /** Fitted on the measured configurations in `fitted`. */
  posterior: Posterior;
  fitted: Set<number>;
}

export function* modelProposer(ctx: SearchContext): Proposer {
  const c = candidates(ctx);
  const initial = Math.min(ctx.budget, Math.max(Math.max(...ctx.space.radices), Math.round(INITIAL_SHARE * ctx.budget)));
  while (ctx.tried.size < initial) {
    const k = coveragePick(ctx, c);
    if (k < 0) return;
    yield c.indices[k];
  }
  const batch = Math.max(1, Math.ceil(ctx.budget / MAX_FITS));
  for (;;) {
    const picks = nextBatch(ctx, c, batch);
    if (picks.length === 0) return;
    for (const k of picks) yield c.indices[k];
  }
}

function candidates(ctx: SearchContext): Candidates {
  const { space } = ctx;
  const map = featureMap(space.radices);
  const genes = Array.from(space.indices, (index) => genesOf(space, index));
  const features = new Int32Array(space.size * map.perConfig);
  genes.forEach((g, k) => featuresOf(map, g, features, k * map.perConfig));
  const position = new Map(Array.from(space.indices, (index, k) => [index, k]));
  return { count: space.size, indices: space.indices, genes, map, features, position, posterior: new Posterior(map, 3), fitted: new Set() };
}

/** A configuration not measured that shows the most knob values not seen yet (ties: seeded draw). */
function coveragePick(ctx: SearchContext, c: Candidates): number {
  const seen = ctx.space.radices.map((r) => new Uint8Array(r));
  for (const index of ctx.tried.keys()) c.genes[c.position.get(index)!].forEach((v, g) => { seen[g][v] = 1; });
  let best = -1;
  let bestScore = -1;
  let ties = 0;
  for (let k = 0; k < c.count; k++) {
    if (ctx.tried.has(c.indices[k])) continue;
    let score = 0;
    c.genes[k].forEach((v, g) => { score += 1 - seen[g][v]; });
    if (score > bestScore) { best = k; bestScore = score; ties = 1; }
    else if (score === bestScore && ctx.rng.nextFloat() * ++ties < 1) best = k;
  }
  return best;
}

/** Up to `size` configurations to measure next, in order. */
function nextBatch(ctx: SearchContext, c: Candidates, size: number): number[] {
  const measured = [...ctx.tried].filter((e): e is [number, Objectives] => e[1] !== undefined);
  const open = Array.from({ length: c.count }, (_, k) => k).filter((k) => !ctx.tried.has(c.indices[k]));
  if (open.length === 0) return [];
  const chance = measurableChance(ctx, c, open);
  if (measured.length < 2) return [open.reduce((a, b) => (chance[b] > chance[a] ? b : a))];
  const predicted = predictOpen(c, measured, open);
  const bounds = objectiveBounds(measured.map(([, o]) => o));
  const front: Point3[] = paretoFront(measured.map(([, o]) => o)).map((o) => normalize(o, bounds));
  const picks: number[] = [];
  const taken = new Set<number>();
  while (picks.length < Math.min(size, open.length)) {
    const base = hypervolume3(front);
    let best = -1;
    let bestScore = 0;
    for (let i = 0; i < open.length; i++) {
      if (taken.has(i)) continue;
      const q = normalize(predicted.optimistic[i], bounds);
      if (front.some((f) => f[0] <= q[0] && f[1] <= q[1] && f[2] <= q[2])) continue;
      const score = (hypervolume3([...front, q]) - base) * chance[i];
      if (score > bestScore) { best = i; bestScore = score; }
    }
    // Nothing can improve the front, as far as the model can tell: measure where it knows least.
    if (best < 0) best = mostUncertain(predicted.sd, chance, taken);
    if (best < 0) break;
    taken.add(best);
    picks.push(open[best]);
    front.push(normalize(predicted.mean[best], bounds));
  }
  return picks;
}

function mostUncertain(sd: Float64Array, chance: Float64Array, taken: Set<number>): number {
  let best = -1;
  for (let i = 0; i < sd.length; i++) if (!taken.has(i) && (best < 0 || sd[i] * chance[i] > sd[best] * chance[best])) best = i;
  return best;
}

/** Predicted objectives of the open configurations: the mean, the optimistic point, the standardized sd. */
function predictOpen(c: Candidates, measured: [number, Objectives][], open: number[]) {
  const k = c.map.perConfig;
  for (const [index, o] of measured) {
    if (c.fitted.has(index)) continue;
    c.fitted.add(index);
    c.posterior.add(c.features, c.position.get(index)! * k, [Math.log(Math.max(o.latencyMs, MIN_POSITIVE)), Math.log(Math.max(o.energyJ, MIN_POSITIVE)), o.accuracy]);
  }
  const fit = c.posterior.fit();
  const m = new Float64Array(3);
  const mean: Objectives[] = [];
  const optimistic: Objectives[] = [];
  const sd = new Float64Array(open.length);
  open.forEach((cfg, i) => {
    const s = c.posterior.predict(fit, c.features, cfg * k, m);
    sd[i] = s;
    mean.push({ latencyMs: Math.exp(m[0]), energyJ: Math.exp(m[1]), accuracy: m[2] });
    optimistic.push({
      latencyMs: Math.exp(m[0] - KAPPA * s * fit.scale[0]),
      energyJ: Math.exp(m[1] - KAPPA * s * fit.scale[1]),
      accuracy: m[2] + KAPPA * s * fit.scale[2],
    });
  });
  return { mean, optimistic, sd };
}

/**
 * Chance that an open configuration can be measured: over its features (knob values and kept pairs
 * of values), the lowest (successes + 1) / (tries + 1) — 1 for what was never tried, 1/2 after one
 * failure, falling with each further failure and rising with each success.
 */
function measurableChance(ctx: SearchContext, c: Candidates, open: number[]): Float64Array {
  const k = c.map.perConfig;
  const tries = new Float64Array(c.map.size);
  const successes = new Float64Array(c.map.size);
  for (const [index, outcome] of ctx.tried) {
    const at = c.position.get(index)! * k;
    for (let i = 0; i < k; i++) {
      tries[c.features[at + i]]++;
      if (outcome) successes[c.features[at + i]]++;
    }
  }
  return Float64Array.from(open, (cfg) => {
    let p = 1;
    for (let i = 0; i < k; i++) {
      const f = c.features[cfg * k + i];
      p = Math.min(p, (successes[f] + 1) / (tries[f] + 1));
    }
    return p;
  });
}
