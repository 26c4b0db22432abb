/**
 * The policies an edge node follows: one per served model, from the retained MQTT message on
 * `dynasplit/v1/policy/MODEL/CLASS`, or the built-in default until one arrives. A new policy is
 * compiled off to the side and swapped in with one assignment, so a request sees either the old
 * policy or the new one, never a mix.
 */
import type { Logger } from 'pino';
import { isDynasplitError, DynasplitError, ErrorCodes } from '../common/index.ts';
import { compilePolicy, decodePolicy, type CompiledPolicy } from '../policy/index.ts';
import { topics, type PolicyProperties } from '../schemas/index.ts';

export interface PolicyStoreStats { swaps: number; rejected: number; versions: Record<string, number> }

export class PolicyStore {
  readonly #current = new Map<string, CompiledPolicy>();
  readonly #defaults = new Map<string, CompiledPolicy>();
  readonly #validCuts: Map<string, Set<string>>;
  readonly #byTopic = new Map<string, string>();
  readonly #logger: Logger;
  #swaps = 0;
  #rejected = 0;

  /** Called after a policy is swapped in (the node warms its sessions). */
  onApplied: (policy: CompiledPolicy) => void = () => undefined;

  constructor(defaults: PolicyProperties[], validCuts: Map<string, Set<string>>, edgeClass: string, logger: Logger) {
    this.#validCuts = validCuts;
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
      this.#logger.info({ model }, 'policy cleared; using the default');
      return true;
    }
    try {
      const policy = this.#validate(model, decodePolicy(payload));
      const current = this.#current.get(model)!;
      if (current !== this.#defaults.get(model) && policy.version < current.version) {
        this.#logger.info({ model, version: policy.version, current: current.version }, 'ignoring an older policy');
        return true;
      }
      this.#current.set(model, policy);
      this.#swaps++;
      this.onApplied(policy);
      this.#logger.info({ model, version: policy.version, rule: policy.rule, entries: policy.entries.length }, 'policy applied');
    } catch (err) {
      this.#rejected++;
      this.#logger.warn({ model, code: isDynasplitError(err) ? err.code : undefined, err: (err as Error).message }, 'policy rejected');
    }
    return true;
  }

  #validate(model: string, decoded: ReturnType<typeof decodePolicy>): CompiledPolicy {
    if (decoded.model !== model) {
      throw new DynasplitError(ErrorCodes.BAD_POLICY, `policy on the topic of ${model} is for ${decoded.model}`);
    }
    const cuts = this.#validCuts.get(model)!;
    const unknown = decoded.entries.find((e) => !cuts.has(e.configuration?.cut ?? ''));
    if (unknown) {
      throw new DynasplitError(ErrorCodes.BAD_POLICY, `policy for ${model} names cut '${unknown.configuration!.cut}', which the model does not have`);
    }
    return compilePolicy(decoded);
  }

  stats(): PolicyStoreStats {
    return {
      swaps: this.#swaps,
      rejected: this.#rejected,
      versions: Object.fromEntries([...this.#current].map(([m, p]) => [m, p.version])),
    };
  }
}
