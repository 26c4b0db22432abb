/**
 * Configurations whose requests fail leave the front, pure. A configuration is failing while its
 * newest failure (a coded error, or an edge fallback: the cloud part did not run) in the memory
 * window is newer than its newest clean success. It comes back when it succeeds again (a request
 * under an older policy, or a measurement run through the control channel) or when its failures
 * age out of the window, after which it is tried again on the model's word; failing again sends it
 * out again.
 */
import type { ConfigFailures } from '../metrics/index.ts';
import type { Estimate } from './reoptimize.ts';

export function failingConfigurations(failures: readonly ConfigFailures[]): Set<string> {
  return new Set(failures.filter((f) => f.failures > 0 && f.lastFailureMs > f.lastSuccessMs).map((f) => f.configuration));
}

/**
 * The estimates without the failing configurations; all of them when every one is failing (a
 * policy must hold something, and the failures then say more about the node or the link than about
 * any configuration).
 */
export function withoutFailing(estimates: readonly Estimate[], failing: ReadonlySet<string>): Estimate[] {
  const kept = estimates.filter((e) => !failing.has(e.configuration.name));
  return kept.length > 0 ? kept : [...estimates];
}
