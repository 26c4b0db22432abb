/**
 * The online decision: given a policy and a request's latency budget, which configuration runs it.
 *
 * DynaSplit's rule (May et al., 2024, online phase): walk the Pareto front sorted by energy
 * (ascending), then accuracy (descending), and take the first configuration whose expected latency
 * fits the budget; if none fits, take the fastest. `compilePolicy` turns that scan into a binary
 * search: with entries in that order, the running minimum of latency is non-increasing, and the
 * first entry that fits is the first index where the running minimum fits.
 */
import type { PolicyEntryProperties, PolicyProperties } from '../schemas/index.ts';
import type { Configuration } from './configuration.ts';

export type DecisionRule = 'energy-first' | 'energy-first-p95' | 'round-robin';
export const DECISION_RULES: readonly DecisionRule[] = ['energy-first', 'energy-first-p95', 'round-robin'];

export interface Entry {
  configuration: Configuration;
  /** Expected latency, ms (p50 and p95). 0 = not known. */
  latencyMs: number;
  latencyP95Ms: number;
  energyJ: number;
  accuracy: number;
}

export interface CompiledPolicy {
  readonly version: number;
  readonly model: string;
  readonly edgeClass: string;
  readonly rule: DecisionRule;
  readonly source: string;
  /** Sorted by energy ascending, then accuracy descending. */
  readonly entries: readonly Entry[];
  /** Running minimum of the rule's latency over `entries`, and where it was reached. */
  readonly prefixMin: Float64Array;
  readonly prefixArg: Int32Array;
}

export function compilePolicy(policy: PolicyProperties): CompiledPolicy {
  const rule = (DECISION_RULES as readonly string[]).includes(policy.rule ?? '') ? (policy.rule as DecisionRule) : 'energy-first';
  const entries = (policy.entries ?? []).map(toEntry);
  if (rule !== 'round-robin') entries.sort((a, b) => a.energyJ - b.energyJ || b.accuracy - a.accuracy);
  const prefixMin = new Float64Array(entries.length);
  const prefixArg = new Int32Array(entries.length);
  entries.forEach((e, i) => {
    const latency = rule === 'energy-first-p95' ? e.latencyP95Ms || e.latencyMs : e.latencyMs;
    const better = i === 0 || latency < prefixMin[i - 1];
    prefixMin[i] = better ? latency : prefixMin[i - 1];
    prefixArg[i] = better ? i : prefixArg[i - 1];
  });
  return {
    version: policy.version ?? 0,
    model: policy.model ?? '',
    edgeClass: policy.edge_class ?? '',
    rule,
    source: policy.source ?? '',
    entries,
    prefixMin,
    prefixArg,
  };
}

function toEntry(e: PolicyEntryProperties): Entry {
  const c = e.configuration ?? {};
  return {
    configuration: { ...c, name: c.name ?? '', cut: c.cut ?? '', codec: c.codec ?? '' },
    latencyMs: e.latency_ms ?? 0,
    latencyP95Ms: e.latency_p95_ms ?? 0,
    energyJ: e.energy_j ?? 0,
    accuracy: e.accuracy ?? 0,
  };
}

export interface DecideOptions {
  /** Lowest acceptable accuracy; entries below it are not considered (unless none is above). */
  accuracyFloor?: number;
  /** Round-robin position (the caller's request counter). */
  turn?: number;
}

/** The entry to run a request with `budgetMs` of latency budget left. Undefined only for an empty policy. */
export function decide(policy: CompiledPolicy, budgetMs: number, options: DecideOptions = {}): Entry | undefined {
  const { entries } = policy;
  if (entries.length === 0) return undefined;
  if (policy.rule === 'round-robin') return entries[(options.turn ?? 0) % entries.length];
  if (options.accuracyFloor && options.accuracyFloor > 0) return decideWithFloor(policy, budgetMs, options.accuracyFloor);
  // First index whose running-minimum latency fits: binary search on a non-increasing array.
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (policy.prefixMin[mid] <= budgetMs) hi = mid;
    else lo = mid + 1;
  }
  // None fits: the fastest, which is where the running minimum ends.
  return entries[lo < entries.length ? policy.prefixArg[lo] : policy.prefixArg[entries.length - 1]];
}

function decideWithFloor(policy: CompiledPolicy, budgetMs: number, floor: number): Entry {
  const latency = (e: Entry) => (policy.rule === 'energy-first-p95' ? e.latencyP95Ms || e.latencyMs : e.latencyMs);
  const eligible = policy.entries.filter((e) => e.accuracy >= floor);
  const pool = eligible.length > 0 ? eligible : policy.entries;
  return pool.find((e) => latency(e) <= budgetMs) ?? pool.reduce((best, e) => (latency(e) < latency(best) ? e : best));
}
