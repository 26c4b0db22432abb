/**
 * What `dynasplit demo` prints: its JSON document (docs/demo.md; `strategies` is the testbed's, in the
 * shape of `eval simulate --json`) and the text made from it. Pure: demo-command.ts runs the loop.
 */
import { median } from '../common/index.ts';
import type { StrategyReport, TestbedResults } from '../eval/index.ts';
import type { MeasuredModel } from '../eval/testbed/index.ts';
import { formatEnergy, formatMs, table } from './format.ts';

/** The strategies the demo serves the frames with, in the order they run; dynasplit last (it publishes a policy). */
export const DEMO_STRATEGIES = ['cloud-only', 'edge-only', 'static-min-energy', 'dynasplit'] as const;

/** What each row of the closing table is, in its order. */
const ROWS: Record<(typeof DEMO_STRATEGIES)[number], string> = {
  'dynasplit': 'per request, the front under the policy',
  'static-min-energy': 'best static: the cheapest explored, on every frame',
  'cloud-only': 'baseline: everything in the cloud',
  'edge-only': 'baseline: everything on the edge',
};

/** One entry of the policy the edge decides with: the front, in the order the edge tries it. */
export interface FrontEntry { configuration: string; latencyMs: number; energyJ: number; accuracy: number }

/** The exploration (phase 1) and what the offline phase made of it. */
export interface Exploration {
  configurations: number;
  runs: number;
  front: FrontEntry[];
  policy: { rule: string; entries: number };
}

/** `npm start -- --json`, documented in docs/demo.md. */
export interface DemoDocument {
  model: string;
  devices: { edge: string; cloud: string };
  workload: { requests: number; budgets: string; seed: number };
  sources: { latency: unknown; energy: unknown; accuracy: unknown; budgetsMet: unknown };
  exploration: Exploration;
  /** Per strategy: eval simulate's figures (eval/stats.ts), from the live results. */
  strategies: Record<string, StrategyReport>;
  /** Per strategy: how its frames were served, and the median latency (ms) the figures above leave out. */
  served: Record<string, { run: string; configuration?: string; p50LatencyMs: number; fallbacks: number; failures: Record<string, number> }>;
  elapsedS: { exploration: number; serving: number; total: number };
}

/** Phase 1 as the demo tells it: how much was measured, and the policy the front became. */
export function explorationOf(measured: MeasuredModel): Exploration {
  const plan = measured.plans.find((p) => p.name === 'dynasplit');
  const entries = plan?.kind === 'policy' ? plan.policy.entries ?? [] : [];
  return {
    configurations: measured.table.aggregates.length,
    runs: measured.rows.length,
    front: entries.map((e) => ({ configuration: e.configuration?.name ?? '', latencyMs: e.latency_ms ?? NaN, energyJ: e.energy_j ?? NaN, accuracy: e.accuracy ?? NaN })),
    policy: { rule: plan?.kind === 'policy' ? plan.rule : '', entries: entries.length },
  };
}

export function demoDocument(
  figures: TestbedResults, exploration: Exploration,
  run: { devices: DemoDocument['devices']; workload: DemoDocument['workload']; elapsedMs: number },
): DemoDocument {
  const seconds = (ms: number) => Math.round(ms / 100) / 10;
  const phases = figures.meta.elapsedS as { profile: number; strategies: number };
  const served: DemoDocument['served'] = {};
  for (const [name, s] of Object.entries(figures.testbed)) {
    served[name] = {
      run: s.run, ...(s.configuration ? { configuration: s.configuration } : {}),
      p50LatencyMs: median((figures.records[name] ?? []).map((r) => r.latencyMs)), fallbacks: s.fallbacks, failures: s.failures,
    };
  }
  const { latency, energy, accuracy } = figures.meta.sources;
  return {
    model: figures.meta.model as string, devices: run.devices, workload: run.workload,
    sources: { latency, energy, accuracy, budgetsMet: latency },
    exploration, strategies: figures.strategies, served,
    elapsedS: { exploration: phases.profile, serving: phases.strategies, total: seconds(run.elapsedMs) },
  };
}

/** The exploration and the front, printed between the phases. */
export function explorationText(model: string, e: Exploration, repetitions: number): string {
  const width = Math.max(...e.front.map((f) => f.configuration.length));
  return [
    `exploration: ${e.configurations} configurations of ${model} measured on the pipeline, ${repetitions} runs each (${e.runs} runs recorded)`,
    `front: ${e.front.length} of the ${e.configurations} are Pareto-optimal (latency, energy, accuracy); the policy (${e.policy.rule}) ` +
      'lists them by energy, and the edge takes the first whose latency fits the frame\'s budget:',
    ...e.front.map((f, i) => `  ${String(i + 1).padStart(2)}. ${f.configuration.padEnd(width)}  ${formatMs(f.latencyMs).padStart(9)}  ` +
      `${formatEnergy(f.energyJ).padStart(8)}  accuracy ${f.accuracy.toFixed(3)}`),
    '',
  ].join('\n');
}

/** The closing table: every strategy on the same frames and budgets, with where each figure comes from. */
export function closingText(doc: DemoDocument): string {
  const pct = (x: number | null) => (x === null || !Number.isFinite(x) ? 'n/a' : `${(x * 100).toFixed(1)}%`);
  const saving = (x: number | null) => (x === null || !Number.isFinite(x) ? 'n/a' : lessOrMore(x));
  const names = (['dynasplit', 'static-min-energy', 'cloud-only', 'edge-only'] as const).filter((n) => doc.strategies[n]);
  const cloud = doc.strategies['cloud-only'];
  const rows = names.map((name) => {
    const r = doc.strategies[name];
    return [name, formatEnergy(r.medianEnergyJ), formatEnergy(r.meanEnergyJ), pct(r.budgetMetRate), formatMs(doc.served[name].p50LatencyMs),
      formatMs(r.p95LatencyMs), name === 'cloud-only' || !cloud ? '-' : saving(1 - r.medianEnergyJ / cloud.medianEnergyJ)];
  });
  const ran = names.map((name) => {
    const mix = Object.entries(doc.strategies[name].configurations);
    const used = mix.length === 1 ? mix[0][0] : mix.map(([c, n]) => `${c} x${n}`).join(', ');
    return `  ${name.padEnd(Math.max(...names.map((n) => n.length)))}  ${ROWS[name]}: ${used}`;
  });
  const word = (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x));
  const { workload, sources } = doc;
  return [
    `served: the same ${workload.requests} frames (budgets ${workload.budgets} ms, seed ${workload.seed}) under the policy and under ${names.length - 1} static strategies`,
    '',
    table(['strategy', `energy p50 [${word(sources.energy)}]`, 'energy mean', `budgets met [${word(sources.budgetsMet)}]`,
      `p50 [${word(sources.latency)}]`, `p95 [${word(sources.latency)}]`, 'p50 energy vs cloud-only'], rows),
    ...ran,
    '',
    ...notes(doc),
    `figures: latency ${word(sources.latency)} (the edge emulates ${doc.devices.edge}, the cloud ${doc.devices.cloud}: compute times are ` +
      `the devices', not this machine's), energy ${word(sources.energy)} (from the device profiles), budgets met from those latencies, ` +
      `accuracy ${word(sources.accuracy)}; ${doc.elapsedS.total} s in all`,
    verdict(doc),
    'next: a deployment on separate machines (README, "Running a deployment"), the full evaluation (dynasplit eval testbed, ' +
      'docs/evaluation.md), what this run printed (docs/demo.md)',
    '',
  ].join('\n');
}

function notes(doc: DemoDocument): string[] {
  const out: string[] = [];
  for (const [name, s] of Object.entries(doc.served)) {
    const failed = Object.entries(s.failures).map(([code, n]) => `${n} ${code}`).join(', ');
    if (failed) out.push(`  ${name}: no result for ${failed}`);
    if (s.fallbacks) out.push(`  ${name}: ${s.fallbacks} frames finished on the edge (the cloud missed the budget)`);
  }
  return out.length ? ['notes:', ...out, ''] : [];
}

function verdict(doc: DemoDocument): string {
  const d = doc.strategies.dynasplit;
  if (!d) return '';
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  // The median: the host's scheduling stalls charge some frames hundreds of ms of idle power (docs/demo.md).
  const against = (name: string) => {
    const r = doc.strategies[name];
    return r && r.medianEnergyJ > 0 ? `${lessOrMore(1 - d.medianEnergyJ / r.medianEnergyJ)} than ${name}` : '';
  };
  const best = doc.strategies['static-min-energy'];
  return `dynasplit: median energy per inference ${[against('cloud-only'), against('edge-only')].filter(Boolean).join(', ')}; ` +
    `budgets met ${pct(d.budgetMetRate)}${best ? ` (best static ${pct(best.budgetMetRate)})` : ''}`;
}

/** A saving (1 - energy / baseline) in words: `63% less`, `12% more`. */
function lessOrMore(saving: number): string {
  return `${(Math.abs(saving) * 100).toFixed(0)}% ${saving >= 0 ? 'less' : 'more'}`;
}
