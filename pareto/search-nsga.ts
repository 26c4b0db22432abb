/**
 * NSGA-II and NSGA-III (nsga2.ts, nsga3.ts) as search strategies. nsga2 calls a synchronous `evaluate`, but a measurement may
 * be a run on live nodes; nsga2 is deterministic per seed, so it is replayed: each replay answers from
 * what was measured and stops at the first configuration not measured yet, which the strategy yields;
 * the next replay follows the same path one measurement further. A replay costs a few milliseconds of
 * computing next to seconds of measuring; over a pool, B measurements cost B replays.
 *
 * Genomes outside the space (ruled out by space.ts) are invalid without a measurement and spend
 * nothing from the search's budget; nsga2's own budget is set past the space so that only the
 * search's budget stops it. The population is a fifth of the budget (8 to 40), so that even a small
 * budget runs several generations rather than one random population.
 */
import { nsga2 } from './nsga2.ts';
import { inSpace, type Proposer, type SearchContext } from './search-types.ts';
import { indexOf } from './space.ts';

const PENDING = Symbol('pending');
const POPULATION = { share: 0.2, min: 8, max: 40 };

/** NSGA-II ('crowding') or NSGA-III ('reference-points', nsga3.ts) as the strategy. */
export function* nsgaProposer(ctx: SearchContext, selection: 'crowding' | 'reference-points'): Proposer {
  const { space } = ctx;
  const populationSize = Math.min(POPULATION.max, Math.max(POPULATION.min, Math.round(ctx.budget * POPULATION.share)));
  for (;;) {
    let pending = -1;
    try {
      nsga2({
        radices: space.radices,
        budget: space.sizeBeforeRules + 1,
        populationSize,
        seed: ctx.seed,
        selection,
        evaluate: (genes) => {
          const index = indexOf(space, genes);
          if (!inSpace(space, index)) return undefined;
          if (ctx.tried.has(index)) return ctx.tried.get(index);
          pending = index;
          throw PENDING;
        },
      });
      return; // nsga2 ended (it found nothing new): the driver spends the rest at random
    } catch (err) {
      if (err !== PENDING) throw err;
    }
    yield pending;
  }
}
