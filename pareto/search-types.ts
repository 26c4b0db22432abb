/** What the search driver (search.ts) and its strategies share. */
import type { Rng } from '../common/index.ts';
import type { Objectives } from './front.ts';
import type { Space } from './space.ts';

/** What measuring a configuration gave: its objectives, or undefined when it could not be measured. */
export type Outcome = Objectives | undefined;

/** What a strategy sees: the space, the budget, its seeded stream and every outcome so far. */
export interface SearchContext {
  space: Space;
  /** Configurations the search measures, at most (never more than the space holds). */
  budget: number;
  seed: number;
  rng: Rng;
  /** Outcome of every configuration measured, by mixed-radix index. */
  tried: Map<number, Outcome>;
}

/** Yields mixed-radix indices of the space to measure next; returns when it has nothing more to propose. */
export type Proposer = Generator<number, void, void>;

/** Whether a mixed-radix index names a configuration of the space (binary search over its sorted indices). */
export function inSpace(space: Pick<Space, 'indices'>, index: number): boolean {
  const { indices } = space;
  let lo = 0;
  let hi = indices.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (indices[mid] < index) lo = mid + 1;
    else hi = mid;
  }
  return lo < indices.length && indices[lo] === index;
}
