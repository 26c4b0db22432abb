/**
 * The policy an edge node uses until the optimizer publishes one, and the policy wire codec.
 *
 * Before anything is measured, nothing is known about latency or energy, so the default does not
 * pretend to choose: it rotates (round-robin) through edge-only, one split and cloud-only. That
 * serves every request and gives the metrics store measurements of each kind of configuration, which
 * is what the optimizer needs to publish a real policy.
 */
import { CODEC_NAMES } from '../codec/index.ts';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { Policy, type PolicyProperties } from '../schemas/index.ts';
import { CLOUD_ONLY_CUT, configuration, EDGE_ONLY_CUT } from './configuration.ts';

export interface CutSummary { name: string; bytesPerSample: number; flopsBefore: number }

/**
 * The split of the default policy: the smallest tensor among the cuts in the first half of the
 * model's FLOPs (a cheap head that still shrinks what crosses the link), earliest on ties.
 */
export function defaultSplit(cuts: readonly CutSummary[], totalFlops: number): string | undefined {
  const early = cuts.filter((c) => c.flopsBefore <= totalFlops / 2);
  const pool = early.length > 0 ? early : cuts;
  return pool.reduce<CutSummary | undefined>((best, c) => (!best || c.bytesPerSample < best.bytesPerSample ? c : best), undefined)?.name;
}

export function defaultPolicy(model: string, cuts: readonly CutSummary[], totalFlops: number, edgeClass = 'default'): PolicyProperties {
  const split = defaultSplit(cuts, totalFlops);
  const configs = [
    configuration({ cut: EDGE_ONLY_CUT }),
    ...(split ? [configuration({ cut: split, codec: 'fp16' })] : []),
    configuration({ cut: CLOUD_ONLY_CUT, codec: 'fp32' }),
  ];
  return {
    version: 0,
    model,
    edge_class: edgeClass,
    rule: 'round-robin',
    source: '',
    entries: configs.map((c) => ({ configuration: c })),
  };
}

export function encodePolicy(policy: PolicyProperties): Uint8Array {
  return Policy.encode(Policy.create(policy)).finish();
}

/** Decodes and validates a policy message; throws DYNASPLIT_ERR_BAD_POLICY. */
export function decodePolicy(bytes: Uint8Array): Policy {
  let policy: Policy;
  try {
    policy = Policy.decode(bytes);
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.BAD_POLICY, `policy message cannot be decoded: ${(cause as Error).message}`, { cause });
  }
  if (!policy.model) throw new DynasplitError(ErrorCodes.BAD_POLICY, 'policy names no model');
  if (policy.entries.length === 0) throw new DynasplitError(ErrorCodes.BAD_POLICY, `policy for ${policy.model} has no entries`);
  for (const [i, e] of policy.entries.entries()) {
    if (!e.configuration?.cut) throw new DynasplitError(ErrorCodes.BAD_POLICY, `policy for ${policy.model}: entry ${i} has no cut`);
    const codec = e.configuration.codec;
    if (codec && !(CODEC_NAMES as readonly string[]).includes(codec)) {
      throw new DynasplitError(ErrorCodes.BAD_POLICY, `policy for ${policy.model}: entry ${i} names unknown codec '${codec}'`);
    }
    const numbers = [e.latency_ms, e.latency_p95_ms, e.energy_j, e.accuracy].map((n) => n ?? 0);
    if (numbers.some((n) => !Number.isFinite(n) || n < 0)) {
      throw new DynasplitError(ErrorCodes.BAD_POLICY, `policy for ${policy.model}: entry ${i} has a negative or non-finite figure`);
    }
  }
  return policy;
}
