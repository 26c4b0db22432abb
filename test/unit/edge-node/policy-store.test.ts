import { describe, expect, it } from 'vitest';
import { ErrorCodes, silentLogger } from '../../../common/index.ts';
import { PolicyStore } from '../../../edge-node/policy-store.ts';
import { configuration, defaultPolicy, encodePolicy, EDGE_ONLY_CUT, type CompiledPolicy } from '../../../policy/index.ts';
import { topics, type PolicyProperties } from '../../../schemas/index.ts';

const MODEL = 'm';
const CUTS = [
  { name: 'c1', bytesPerSample: 4096, flopsBefore: 10 },
  { name: 'c2', bytesPerSample: 1024, flopsBefore: 50 },
];
const TOPIC = topics.policy(MODEL, 'default');

/** A logger that keeps what it is told, so a test can see why a policy was refused. */
function recordingLogger() {
  const lines: Array<{ level: string; fields: Record<string, unknown>; msg: string }> = [];
  const logger = silentLogger();
  for (const level of ['info', 'warn'] as const) {
    (logger as unknown as Record<string, unknown>)[level] = (fields: Record<string, unknown>, msg: string) => lines.push({ level, fields, msg });
  }
  return { logger, lines };
}

function store() {
  const { logger, lines } = recordingLogger();
  const policies = new PolicyStore(
    [defaultPolicy(MODEL, CUTS, 100)],
    new Map([[MODEL, new Set(['input', 'c1', 'c2', 'output'])]]),
    'default',
    logger,
  );
  const applied: CompiledPolicy[] = [];
  policies.onApplied = (p) => applied.push(p);
  return { policies, applied, lines };
}

function policy(version: number, cut: string, model = MODEL): PolicyProperties {
  return { version, model, edge_class: 'default', rule: 'energy-first', entries: [{ configuration: configuration({ cut, codec: 'fp32' }), latency_ms: 5 }] };
}

const cutOf = (p: CompiledPolicy) => p.entries.map((e) => e.configuration.cut);

describe('PolicyStore', () => {
  it('starts with the default policy and listens on the policy topic of each model', () => {
    const { policies } = store();
    expect(policies.topics()).toEqual([TOPIC]);
    expect(policies.get(MODEL).version).toBe(0);
    expect(cutOf(policies.get(MODEL))).toContain(EDGE_ONLY_CUT);
    expect(policies.handle('dynasplit/v1/frames/s', encodePolicy(policy(1, 'c1')))).toBe(false);
  });

  it('applies newer versions, ignores older ones, and counts swaps', () => {
    const { policies, applied, lines } = store();
    expect(policies.handle(TOPIC, encodePolicy(policy(5, 'c1')))).toBe(true);
    expect(policies.get(MODEL).version).toBe(5);
    policies.handle(TOPIC, encodePolicy(policy(3, 'c2')));
    expect(policies.get(MODEL).version).toBe(5);
    expect(cutOf(policies.get(MODEL))).toEqual(['c1']);
    expect(lines.some((l) => l.msg === 'ignoring an older policy' && l.fields.version === 3 && l.fields.current === 5)).toBe(true);
    policies.handle(TOPIC, encodePolicy(policy(5, 'c2'))); // the same version again: a re-publication, applied
    policies.handle(TOPIC, encodePolicy(policy(7, 'output')));
    expect(cutOf(policies.get(MODEL))).toEqual(['output']);
    expect(applied.map((p) => p.version)).toEqual([5, 5, 7]);
    expect(policies.stats()).toEqual({ swaps: 3, rejected: 0, versions: { [MODEL]: 7 } });
  });

  it('takes any version over the default, and goes back to the default on an empty retained message', () => {
    const { policies } = store();
    policies.handle(TOPIC, encodePolicy(policy(4, 'c2')));
    policies.handle(TOPIC, new Uint8Array(0));
    expect(policies.get(MODEL).version).toBe(0);
    expect(cutOf(policies.get(MODEL))).toContain(EDGE_ONLY_CUT);
    // After a clear, an older version than the one cleared is accepted: the default has no version to defend.
    policies.handle(TOPIC, encodePolicy(policy(2, 'c1')));
    expect(policies.get(MODEL).version).toBe(2);
  });

  it('rejects a policy naming a cut the model does not have, or another model, and keeps the current one', () => {
    const { policies, applied, lines } = store();
    policies.handle(TOPIC, encodePolicy(policy(1, 'c1')));
    policies.handle(TOPIC, encodePolicy(policy(2, 'no-such-cut')));
    policies.handle(TOPIC, encodePolicy(policy(3, 'c1', 'other')));
    policies.handle(TOPIC, new Uint8Array([0xff, 0xff, 0xff]));
    expect(policies.get(MODEL).version).toBe(1);
    expect(applied.map((p) => p.version)).toEqual([1]);
    expect(policies.stats()).toMatchObject({ swaps: 1, rejected: 3 });
    const rejected = lines.filter((l) => l.msg === 'policy rejected');
    expect(rejected.map((l) => l.fields.code)).toEqual([ErrorCodes.BAD_POLICY, ErrorCodes.BAD_POLICY, ErrorCodes.BAD_POLICY]);
    expect(String(rejected[0].fields.err)).toContain("'no-such-cut'");
  });
});
