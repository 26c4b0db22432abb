/**
 * Policies (policy/): `decodePolicy` on hostile bytes and perturbed policies, and `compilePolicy` +
 * `decide` on whatever it accepts: never a throw, always an entry, and the entry DynaSplit's online
 * rule picks (May et al., 2024: first by energy, then accuracy, whose latency fits; else the fastest).
 */
import fc from 'fast-check';
import { CODEC_NAMES } from '../../codec/index.ts';
import { ErrorCodes } from '../../common/index.ts';
import { compilePolicy, decide, DECISION_RULES, decodePolicy, encodePolicy, type Entry } from '../../policy/index.ts';
import type { Policy, PolicyEntryProperties, PolicyProperties } from '../../schemas/index.ts';
import { anyString, awkwardNumber, hostileBytes } from './arbitraries.ts';
import { attempt, check, type FuzzProperty } from './property.ts';

const BAD_POLICY = [ErrorCodes.BAD_POLICY];

/** A figure as the optimizer writes it: finite and >= 0 (0 = not known), often tied with others. */
const figure = fc.oneof(fc.constantFrom(0, 1, 2, 5), fc.double({ min: 0, max: 1e6, noNaN: true }));

const validEntry: fc.Arbitrary<PolicyEntryProperties> = fc.record({
  configuration: fc.record({
    name: anyString,
    cut: fc.oneof(fc.constantFrom('input', 'output', 'features.pool3'), anyString.filter((s) => s !== '')),
    codec: fc.constantFrom('', ...CODEC_NAMES),
    edge_threads: fc.nat(64),
    edge_frequency_mhz: fc.nat(4000),
  }),
  latency_ms: figure,
  latency_p95_ms: figure,
  energy_j: figure,
  accuracy: fc.oneof(figure, fc.double({ min: 0, max: 1, noNaN: true })),
});

const validPolicy: fc.Arbitrary<PolicyProperties> = fc.record({
  version: fc.nat(),
  model: anyString.filter((s) => s !== ''),
  edge_class: anyString,
  rule: fc.oneof(fc.constantFrom(...DECISION_RULES), fc.constant(''), anyString),
  entries: fc.array(validEntry, { minLength: 1, maxLength: 12 }),
  published_at_ms: awkwardNumber,
  source: anyString,
});

type Perturbation = (p: PolicyProperties) => PolicyProperties;
const perturbation: fc.Arbitrary<Perturbation> = fc.oneof(
  fc.constant<Perturbation>((p) => ({ ...p, model: '' })),
  fc.constant<Perturbation>((p) => ({ ...p, entries: [] })),
  fc.tuple(fc.nat(), fc.constantFrom('latency_ms', 'latency_p95_ms', 'energy_j', 'accuracy'), awkwardNumber)
    .map(([i, key, value]): Perturbation => (p) => withEntry(p, i, (e) => ({ ...e, [key]: value }))),
  fc.tuple(fc.nat(), anyString).map(([i, codec]): Perturbation => (p) => withEntry(p, i, (e) => ({ ...e, configuration: { ...e.configuration, codec } }))),
  fc.nat().map((i): Perturbation => (p) => withEntry(p, i, (e) => ({ ...e, configuration: { ...e.configuration, cut: '' } }))),
  fc.nat().map((i): Perturbation => (p) => withEntry(p, i, () => ({}))),
);

function withEntry(p: PolicyProperties, i: number, change: (e: PolicyEntryProperties) => PolicyEntryProperties): PolicyProperties {
  const entries = (p.entries ?? []).slice();
  if (entries.length > 0) entries[i % entries.length] = change(entries[i % entries.length]);
  return { ...p, entries };
}

const perturbedPolicy = fc.tuple(validPolicy, fc.array(perturbation, { minLength: 1, maxLength: 3 })).map(([p, ps]) => ps.reduce((acc, f) => f(acc), p));

/** The rules decodePolicy documents (policy/default-policy.ts), restated: what it accepts must satisfy them. */
function checkAccepted(policy: Policy): void {
  check(policy.model !== '', 'accepted a policy without a model');
  check(policy.entries.length > 0, 'accepted a policy without entries');
  for (const e of policy.entries) {
    check(!!e.configuration?.cut, 'accepted an entry without a cut');
    check(!e.configuration.codec || (CODEC_NAMES as readonly string[]).includes(e.configuration.codec), `accepted codec ${JSON.stringify(e.configuration.codec)}`);
    for (const n of [e.latency_ms, e.latency_p95_ms, e.energy_j, e.accuracy]) check(Number.isFinite(n) && n! >= 0, `accepted figure ${n}`);
  }
}

interface Request { budgetMs: number; accuracyFloor: number; turn: number }
const request: fc.Arbitrary<Request> = fc.record({
  budgetMs: fc.oneof(figure, awkwardNumber),
  accuracyFloor: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true }), awkwardNumber),
  // The edge node's request counter: a non-negative integer.
  turn: fc.nat(),
});

/** The online rule as a plain linear scan over the decoded message: the oracle for decide(). */
function reference(policy: Policy, r: Request): PolicyEntryProperties {
  const rule = (DECISION_RULES as readonly string[]).includes(policy.rule) ? policy.rule : 'energy-first';
  const entries = policy.entries.map((e, i) => ({ e, i, energy: e.energy_j ?? 0, accuracy: e.accuracy ?? 0 }));
  if (rule === 'round-robin') return entries[r.turn % entries.length].e;
  entries.sort((a, b) => a.energy - b.energy || b.accuracy - a.accuracy || a.i - b.i);
  const latency = (e: PolicyEntryProperties) => (rule === 'energy-first-p95' ? e.latency_p95_ms || e.latency_ms : e.latency_ms) ?? 0;
  const eligible = r.accuracyFloor > 0 ? entries.filter((x) => x.accuracy >= r.accuracyFloor) : [];
  const pool = eligible.length > 0 ? eligible : entries;
  const fits = pool.find((x) => latency(x.e) <= r.budgetMs);
  return (fits ?? pool.reduce((best, x) => (latency(x.e) < latency(best.e) ? x : best))).e;
}

function sameEntry(a: Entry, b: PolicyEntryProperties): boolean {
  const c = b.configuration!;
  return a.latencyMs === b.latency_ms && a.latencyP95Ms === b.latency_p95_ms && a.energyJ === b.energy_j && a.accuracy === b.accuracy &&
    a.configuration.cut === c.cut && a.configuration.codec === c.codec && a.configuration.name === c.name;
}

/** compilePolicy + decide on an accepted policy: no throw, an entry of the policy, the rule's entry. */
function checkDecisions(policy: Policy, requests: Request[]): void {
  const out = attempt([], () => {
    const compiled = compilePolicy(policy);
    return { compiled, chosen: requests.map((r) => decide(compiled, r.budgetMs, { accuracyFloor: r.accuracyFloor, turn: r.turn })) };
  });
  if (!out.ok) return;
  out.value.chosen.forEach((entry, k) => {
    check(entry !== undefined && out.value.compiled.entries.includes(entry), 'decide returned no entry for a non-empty policy');
    check(sameEntry(entry, reference(policy, requests[k])), () =>
      `decide(${JSON.stringify(requests[k])}) chose ${entry.configuration.name} (${entry.latencyMs} ms, ${entry.energyJ} J), ` +
      `not the rule's entry`);
  });
}

/** Strings that survive UTF-8 (no lone surrogates): protobuf `string` fields are UTF-8 by definition. */
const wellFormed = (s: string | null | undefined) => !/[\uD800-\uDFFF]/u.test(s ?? '');

export const policyProperties: FuzzProperty[] = [
  {
    name: 'policy/decodePolicy: random, protobuf-shaped and mutated bytes; accepted ones compile and decide',
    decoder: 'policy',
    build: () => fc.property(hostileBytes(validPolicy.map(encodePolicy)), fc.array(request, { minLength: 1, maxLength: 4 }), (bytes, requests) => {
      const out = attempt(BAD_POLICY, () => decodePolicy(bytes));
      if (!out.ok) return;
      checkAccepted(out.value);
      checkDecisions(out.value, requests);
    }),
  },
  {
    name: 'policy/decodePolicy: perturbed policies are refused or valid',
    decoder: 'policy',
    build: () => fc.property(perturbedPolicy, fc.array(request, { minLength: 1, maxLength: 4 }), (p, requests) => {
      const out = attempt(BAD_POLICY, () => decodePolicy(encodePolicy(p)));
      if (!out.ok) return;
      checkAccepted(out.value);
      checkDecisions(out.value, requests);
    }),
  },
  {
    name: 'policy/decodePolicy + decide: valid policies round-trip and decide by the online rule',
    decoder: 'policy',
    build: () => fc.property(validPolicy.filter((p) => [p.model, p.rule, ...p.entries!.map((e) => e.configuration!.cut)].every(wellFormed)),
      fc.array(request, { minLength: 1, maxLength: 8 }), (p, requests) => {
        const out = attempt([], () => decodePolicy(encodePolicy(p)));
        if (!out.ok) return;
        check(out.value.model === p.model && out.value.entries.length === p.entries!.length, 'model or entries changed');
        checkDecisions(out.value, requests);
      }),
  },
];
