/**
 * The policies an edge node follows: one per served model, from the retained MQTT message on
 * `dynasplit/v1/policy/MODEL/CLASS`, or the built-in default until one arrives. A new policy is
 * compiled off to the side and swapped in with one assignment, so a request sees either the old
 * policy or the new one, never a mix.
 *
 * A policy is checked against the node's own hardware and models when it arrives (policy-check.ts)
 * and refused whole when any entry cannot run here: the previous policy stays in force, the refusal
 * is logged with its code (DYNASPLIT_ERR_BAD_POLICY), counted, and published in the node's retained
 * status (NodeStatus), which the optimizer reads. Not a runnable subset: the optimizer would not
 * know which part its figures and budgets now rest on, and a policy reduced to one or two entries
 * could miss every budget while the node reports it applied (docs/protocol.md).
 */
import type { Logger } from 'pino';
import { isDynasplitError, DynasplitError, ErrorCodes } from '../common/index.ts';
import { compilePolicy, decodePolicy, type CompiledPolicy } from '../policy/index.ts';
import { topics, type ModelPolicyStateProperties, type NodeStatusProperties, type PolicyProperties } from '../schemas/index.ts';
import { policyRefusal, type NodeCapabilities } from './policy-check.ts';

/**
 * `rejected`: policies not applied (undecodable, for another model, or refused as not runnable here);
 * `refusals`: per model, the last refusal newer than the policy in force (version 0: undecodable).
 */
export interface PolicyStoreStats {
  swaps: number;
  rejected: number;
  versions: Record<string, number>;
  refusals: Record<string, { version: number; code: string; message: string }>;
}

export class PolicyStore {
  readonly #current = new Map<string, CompiledPolicy>();
  readonly #defaults = new Map<string, CompiledPolicy>();
  readonly #node: NodeCapabilities;
  /** model -> the last refusal newer than the policy in force. */
  readonly #refusals = new Map<string, ModelPolicyStateProperties>();
  readonly #byTopic = new Map<string, string>();
  readonly #logger: Logger;
  #swaps = 0;
  #rejected = 0;

  /** Called after a policy is swapped in (the node warms its sessions). */
  onApplied: (policy: CompiledPolicy) => void = () => undefined;
  /** Called with the node's policy status after every change (the node publishes it, retained). */
  onStatus: (status: NodeStatusProperties) => void = () => undefined;

  constructor(defaults: PolicyProperties[], node: NodeCapabilities, edgeClass: string, logger: Logger) {
    this.#node = node;
    this.#logger = logger;
    for (const policy of defaults) {
      const compiled = compilePolicy(policy);
      this.#defaults.set(compiled.model, compiled);
      this.#current.set(compiled.model, compiled);
      this.#byTopic.set(topics.policy(compiled.model, edgeClass), compiled.model);
    }
  }

  topics(): string[] {
    return [...this.#byTopic.keys()];
  }

  get(model: string): CompiledPolicy {
    return this.#current.get(model)!;
  }

  /** Handles a message on one of `topics()`; returns false for any other topic. */
  handle(topic: string, payload: Uint8Array): boolean {
    const model = this.#byTopic.get(topic);
    if (model === undefined) return false;
    if (payload.length === 0) {
      // An empty retained message clears the policy (MQTT 3.1.1 §3.3.1.3): back to the default.
      this.#current.set(model, this.#defaults.get(model)!);
      this.#refusals.delete(model);
      this.#logger.info({ model }, 'policy cleared; using the default');
      this.#publishStatus();
      return true;
    }
    // Known once decoded: a refusal names the version it refused, whatever refused it.
    let version = 0;
    try {
      const decoded = decodePolicy(payload);
      version = decoded.version;
      const policy = this.#validate(model, decoded);
      const current = this.#current.get(model)!;
      if (current !== this.#defaults.get(model) && policy.version < current.version) {
        this.#logger.info({ model, version: policy.version, current: current.version }, 'ignoring an older policy');
        return true;
      }
      this.#current.set(model, policy);
      this.#refusals.delete(model);
      this.#swaps++;
      this.onApplied(policy);
      this.#logger.info({ model, version: policy.version, rule: policy.rule, entries: policy.entries.length }, 'policy applied');
    } catch (err) {
      this.#rejected++;
      const code = isDynasplitError(err) ? err.code : ErrorCodes.BAD_POLICY;
      const details = isDynasplitError(err) ? err.details : undefined;
      this.#logger.warn({ model, code, ...details, err: (err as Error).message }, 'policy refused; the previous one stays in force');
      this.#refusals.set(model, {
        model, refused_version: Number(details?.version ?? version), refused_configuration: String(details?.configuration ?? ''),
        refusal: { code, message: (err as Error).message.slice(0, 512), retryable: false }, refused_at_ms: Date.now(),
      });
    }
    this.#publishStatus();
    return true;
  }

  /** The node's policy status: the version in force per model, and the refusals newer than it. */
  status(): NodeStatusProperties {
    return {
      policies: [...this.#current].map(([model, policy]) => ({ ...this.#refusals.get(model), model, applied_version: policy.version })),
      refusals: this.#rejected,
      updated_at_ms: Date.now(),
    };
  }

  #publishStatus(): void {
    this.onStatus(this.status());
  }

  #validate(model: string, decoded: ReturnType<typeof decodePolicy>): CompiledPolicy {
    if (decoded.model !== model) {
      throw new DynasplitError(ErrorCodes.BAD_POLICY, `policy on the topic of ${model} is for ${decoded.model}`);
    }
    const refusal = policyRefusal(decoded, this.#node);
    if (refusal) {
      throw new DynasplitError(ErrorCodes.BAD_POLICY,
        `policy ${decoded.version} for ${model} cannot run on this node: ${refusal.configuration}: ${refusal.reason}`,
        { details: { version: decoded.version, configuration: refusal.configuration } });
    }
    return compilePolicy(decoded);
  }

  stats(): PolicyStoreStats {
    return {
      swaps: this.#swaps,
      rejected: this.#rejected,
      versions: Object.fromEntries([...this.#current].map(([m, p]) => [m, p.version])),
      refusals: Object.fromEntries([...this.#refusals].map(([m, r]) => [m, { version: r.refused_version ?? 0, code: r.refusal?.code ?? '', message: r.refusal?.message ?? '' }])),
    };
  }
}
