import { describe, expect, it } from 'vitest';
import { ErrorCodes, silentLogger } from '../../../common/index.ts';
import { PolicyStore } from '../../../edge-node/policy-store.ts';
import { loadProfile } from '../../../hardware/index.ts';
import { configuration, defaultPolicy, encodePolicy, EDGE_ONLY_CUT, type CompiledPolicy } from '../../../policy/index.ts';
import { topics, type NodeStatusProperties, type PolicyProperties } from '../../../schemas/index.ts';

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
  // An rpi4 (600..1800 MHz, 4 cores, a Coral USB TPU) serving a model whose cuts hold 0 .. 40 MB of fp32 weights.
  const policies = new PolicyStore(
    [defaultPolicy(MODEL, CUTS, 100)],
    {
      profile: loadProfile('rpi4'),
      cuts: new Map([[MODEL, new Map([['input', 0], ['c1', 1000], ['c2', 1_000_000], ['output', 40_000_000]])]]),
      nonFloatCuts: new Map([[MODEL, [{ name: 'mask', dtype: 'bool' }]]]),
    },
    'default',
    logger,
  );
  const applied: CompiledPolicy[] = [];
  const statuses: NodeStatusProperties[] = [];
  policies.onApplied = (p) => applied.push(p);
  policies.onStatus = (s) => statuses.push(s);
  return { policies, applied, lines, statuses };
}

function policy(version: number, cut: string, model = MODEL, knobs: Partial<Parameters<typeof configuration>[0]> = {}): PolicyProperties {
  return {
    version, model, edge_class: 'default', rule: 'energy-first',
    entries: [{ configuration: configuration({ cut, codec: 'fp32', ...knobs }), latency_ms: 5 }],
  };
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
    expect(policies.stats()).toEqual({ swaps: 3, rejected: 0, versions: { [MODEL]: 7 }, refusals: {} });
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
    const rejected = lines.filter((l) => l.msg === 'policy refused; the previous one stays in force');
    expect(rejected.map((l) => l.fields.code)).toEqual([ErrorCodes.BAD_POLICY, ErrorCodes.BAD_POLICY, ErrorCodes.BAD_POLICY]);
    expect(String(rejected[0].fields.err)).toContain("'no-such-cut'");
  });

  it('refuses whole a policy with an entry the hardware cannot run, keeps the previous one, and says so in its status', () => {
    const { policies, applied, lines, statuses } = store();
    const good = policy(1, 'c1', MODEL, { edge_frequency_mhz: 1200, edge_threads: 4, edge_accelerator: 'coral-usb:max' });
    policies.handle(TOPIC, encodePolicy(good));
    expect(statuses.at(-1)!.policies).toEqual([{ model: MODEL, applied_version: 1 }]);
    const runnable = good.entries![0]!;
    const withBad = (version: number, knobs: Partial<Parameters<typeof configuration>[0]>, cut = 'c1'): PolicyProperties => ({
      ...policy(version, cut, MODEL, knobs), entries: [runnable, ...policy(version, cut, MODEL, knobs).entries!],
    });
    const cases: Array<[PolicyProperties, string]> = [
      [withBad(2, { edge_frequency_mhz: 1000 + 1 }), '1001 MHz is not a DVFS step of rpi4'],
      [withBad(3, { edge_threads: 8 }), '8 threads: rpi4 has 4 cores'],
      [withBad(4, { edge_accelerator: 'hailo-8:max' }), "unknown accelerator 'hailo-8:max'"],
      [withBad(5, {}, 'no-such-cut'), "m has no cut 'no-such-cut'"],
      [withBad(7, {}, 'mask'), "m's cut 'mask' carries a bool tensor; the pipeline sends float32 tensors only"],
      // The Coral holds about 8 MB of int8 weights: the whole model's 10 MB do not fit.
      [withBad(6, { edge_accelerator: 'coral-usb:std' }, 'output'), 'coral-usb holds'],
    ];
    for (const [bad, reason] of cases) {
      policies.handle(TOPIC, encodePolicy(bad));
      expect(policies.get(MODEL).version).toBe(1);
      const status = statuses.at(-1)!;
      expect(status.policies![0]).toMatchObject({ model: MODEL, applied_version: 1, refused_version: bad.version, refusal: { code: ErrorCodes.BAD_POLICY } });
      expect(status.policies![0]!.refusal!.message).toContain(reason);
      expect(status.policies![0]!.refused_configuration).toBe(bad.entries![1]!.configuration!.name);
    }
    expect(applied.map((p) => p.version)).toEqual([1]);
    expect(policies.stats()).toMatchObject({ swaps: 1, rejected: cases.length, refusals: { [MODEL]: { version: 6, code: ErrorCodes.BAD_POLICY } } });
    expect(statuses.at(-1)!.refusals).toBe(cases.length);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.fields.code)).toEqual(Array(cases.length).fill(ErrorCodes.BAD_POLICY));
    // A runnable newer policy is applied and clears the refusal from the status.
    policies.handle(TOPIC, encodePolicy(policy(9, 'c2', MODEL, { edge_frequency_mhz: 600 })));
    expect(policies.get(MODEL).version).toBe(9);
    expect(statuses.at(-1)!.policies).toEqual([{ model: MODEL, applied_version: 9 }]);
  });
});
