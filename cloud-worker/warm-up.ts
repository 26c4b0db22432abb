/**
 * Loads the tails edges will ask a worker for before they ask. A worker opens a tail's session on the
 * first request for its cut, and that request waits for it: VGG16's tail at a convolutional cut or its
 * whole model took 1.3–1.8 s on the development machine, past any budget, so the edge gave up on the
 * cloud and ran the tail itself (docs/performance.md). The tails of the edges' default policy (the
 * exploration policy every edge starts with, which is not published: each computes it from the model)
 * are loaded before the worker serves.
 *
 * A warm-up never evicts: a tail that does not fit beside the sessions already loaded is left for its
 * first request to load, as before, and the budget (`--memory-budget-mb`) says how many stay loaded.
 */
import { isDynasplitError, ErrorCodes, type Logger } from '../common/index.ts';
import type { ModelStore } from '../model/index.ts';
import { defaultPolicy, EDGE_ONLY_CUT } from '../policy/index.ts';
import type { PolicyProperties } from '../schemas/index.ts';

export interface WarmedTails {
  /** Cuts whose tail is loaded ('input': the whole model, for cloud-only requests). */
  loaded: string[];
  /** Cuts whose tail did not fit the session budget without evicting another session. */
  skipped: string[];
}

/** The cuts whose tails a policy's entries ask the cloud for, once each, in the policy's order. */
export function tailCuts(policy: PolicyProperties): string[] {
  const cuts = (policy.entries ?? []).map((e) => e.configuration?.cut ?? '').filter((cut) => cut !== '' && cut !== EDGE_ONLY_CUT);
  return [...new Set(cuts)];
}

/** The tail cuts of the default policy edges compute for `model` (policy/default-policy.ts). */
export function defaultTailCuts(models: ModelStore, model: string): string[] {
  const { inspection } = models.get(model);
  return tailCuts(defaultPolicy(model, inspection.cutPoints, inspection.flops));
}

/**
 * Opens the tail of `model` at each of `cuts` (and releases it at once: it stays loaded until the
 * budget needs the room), never evicting. Other failures are logged and skipped: the first request
 * for that cut reports them.
 */
export async function warmTails(models: ModelStore, model: string, cuts: readonly string[], logger: Logger): Promise<WarmedTails> {
  const warmed: WarmedTails = { loaded: [], skipped: [] };
  for (const cut of cuts) {
    try {
      (await models.session(model, 'tail', cut, { evict: false })).release();
      warmed.loaded.push(cut);
    } catch (err) {
      if (isDynasplitError(err) && err.code === ErrorCodes.MEMORY_BUDGET) warmed.skipped.push(cut);
      else logger.warn({ err, model, cut }, 'tail not warmed up');
    }
  }
  return warmed;
}
