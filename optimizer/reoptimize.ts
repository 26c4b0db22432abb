/**
 * One round of live re-optimization, pure: from the window's measurements and the link model, an
 * estimate for every configuration of the space (measured where there are enough runs, modelled
 * otherwise, scaled by how the measured ones compare with the model), the exact front over them, and
 * whether the resulting choice differs enough from the published one to be worth publishing.
 */
import { median } from '../common/index.ts';
import type { ConfigStats } from '../metrics/index.ts';
import { compilePolicy, decide, type CompiledPolicy, type Configuration } from '../policy/index.ts';
import type { PolicyProperties } from '../schemas/index.ts';
import { predict, priorAccuracy, type PredictContext, frontToPolicy, paretoIndices, type FrontPoint, type PolicyMeta } from '../pareto/index.ts';

export interface Estimate extends FrontPoint {
  /** 'measured' when from at least minRuns measurements in the window, else 'modelled'. */
  source: 'measured' | 'modelled';
  runs: number;
}

export interface RoundInput {
  configurations: readonly Configuration[];
  /** The recent window's measurements. */
  stats: readonly ConfigStats[];
  /**
   * Older measurements of configurations not used recently. They can only make a configuration look
   * worse than the model says (a configuration that measured badly is not retried on the model's word
   * alone); they never make it look better than the model does with what is known now.
   */
  remembered?: readonly ConfigStats[];
  context: PredictContext;
  /** Measurements needed before a configuration's own figures replace the model's. */
  minRuns: number;
}

/** Measured latency up to this factor of the model's (plus the slack, ms) counts as the model plus overhead. */
const PLAUSIBLE_FACTOR = 3;
const PLAUSIBLE_SLACK_MS = 20;
/** p95/p50 of latency assumed for a configuration that has not been measured. */
const DEFAULT_TAIL_RATIO = 1.25;

/**
 * Measured configurations keep their own figures. Modelled ones get the model's figures plus what the
 * model leaves out, learned from the measured ones as a median offset (measured - modelled): the
 * framework's per-request overhead is roughly constant, not proportional, so it is added rather than
 * multiplied; edge-only and offloaded configurations learn separate offsets (messaging costs the
 * latter more); a group without measurements takes the model as it is.
 */
export function estimate(input: RoundInput): Estimate[] {
  const measured = new Map(input.stats.filter((s) => s.count >= input.minRuns).map((s) => [s.configuration, s]));
  const predictions = input.configurations.map((c) => predict(c, input.context));
  const offsets = { local: newOffsets(), offloaded: newOffsets() };
  const tails: number[] = [];
  input.configurations.forEach((c, i) => {
    const m = measured.get(c.name);
    if (!m) return;
    const group = c.cut === 'output' ? offsets.local : offsets.offloaded;
    // A measurement far outside the model (queues, fallbacks) stands for its own configuration only.
    if (m.latencyP50Ms <= PLAUSIBLE_FACTOR * predictions[i].latencyMs + PLAUSIBLE_SLACK_MS) {
      group.latency.push(m.latencyP50Ms - predictions[i].latencyMs);
      group.energy.push(m.meanEnergyJ - predictions[i].energyJ);
    }
    if (m.latencyP50Ms > 0) tails.push(m.latencyP95Ms / m.latencyP50Ms);
  });
  const medianOr = (values: number[], fallback: number) => (values.length > 0 ? median(values) : fallback);
  const offset = (group: Offsets, key: 'latency' | 'energy') => medianOr(group[key], 0);
  const tail = Math.max(1, medianOr(tails, DEFAULT_TAIL_RATIO));
  const remembered = new Map((input.remembered ?? []).filter((s) => s.count >= input.minRuns && !measured.has(s.configuration)).map((s) => [s.configuration, s]));
  return input.configurations.map((configuration, i) => {
    const m = measured.get(configuration.name);
    if (m) {
      return {
        configuration, source: 'measured', runs: m.count,
        latencyMs: m.latencyP50Ms, latencyP95Ms: m.latencyP95Ms, energyJ: m.meanEnergyJ,
        accuracy: m.agreement ?? priorAccuracy(configuration.codec),
      };
    }
    const own = configuration.cut === 'output' ? offsets.local : offsets.offloaded;
    const latencyMs = Math.max(0, predictions[i].latencyMs + offset(own, 'latency'));
    const energyJ = Math.max(0, predictions[i].energyJ + offset(own, 'energy'));
    const old = remembered.get(configuration.name);
    if (old && old.latencyP50Ms > latencyMs) {
      return {
        configuration, source: 'measured', runs: old.count,
        latencyMs: old.latencyP50Ms, latencyP95Ms: Math.max(old.latencyP95Ms, old.latencyP50Ms), energyJ: Math.max(energyJ, old.meanEnergyJ),
        accuracy: old.agreement ?? priorAccuracy(configuration.codec),
      };
    }
    return {
      configuration, source: 'modelled', runs: 0,
      latencyMs, latencyP95Ms: latencyMs * tail, energyJ, accuracy: priorAccuracy(configuration.codec),
    };
  });
}

interface Offsets { latency: number[]; energy: number[] }
const newOffsets = (): Offsets => ({ latency: [], energy: [] });

export function front(estimates: readonly Estimate[]): Estimate[] {
  const indices = paretoIndices(
    estimates.map((e) => e.latencyMs), estimates.map((e) => e.energyJ), estimates.map((e) => e.accuracy));
  return Array.from(indices, (i) => estimates[i]);
}

export function policyFor(points: readonly Estimate[], meta: Omit<PolicyMeta, 'source'>): PolicyProperties {
  const source = points.every((p) => p.source === 'measured') ? 'measured' : 'modelled';
  return frontToPolicy(points, { ...meta, source });
}

/**
 * Share of budgets (log-spaced over the range the policies span) for which the two policies lead to
 * materially different outcomes: chosen entries whose expected latency or energy differ by more than
 * `tolerance` (relative). Configurations that are equivalent (say 1 or 2 threads on a part that does
 * not scale) do not count as a change. Publishing only when this share exceeds the hysteresis keeps
 * the published choice from flapping on measurement noise.
 */
export function choiceChange(previous: CompiledPolicy | undefined, next: PolicyProperties, tolerance = 0.2, points = 64): number {
  if (!previous || previous.entries.length === 0) return 1;
  const candidate = compilePolicy(next);
  const latencies = [...previous.entries, ...candidate.entries].map((e) => e.latencyMs).filter((l) => l > 0);
  if (latencies.length === 0) return 0;
  const lo = Math.max(1e-3, Math.min(...latencies) / 2);
  const hi = Math.max(...latencies) * 2;
  const differs = (a: number, b: number) => Math.abs(a - b) > tolerance * Math.max(Math.abs(a), Math.abs(b), 1e-9);
  let changed = 0;
  for (let k = 0; k < points; k++) {
    const budget = lo * Math.pow(hi / lo, k / (points - 1));
    const a = decide(previous, budget);
    const b = decide(candidate, budget);
    if (!a || !b || differs(a.latencyMs, b.latencyMs) || differs(a.energyJ, b.energyJ)) changed++;
  }
  return changed / points;
}
