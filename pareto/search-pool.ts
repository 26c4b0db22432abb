/**
 * Search over a recorded pool: "measuring" a configuration takes its recorded runs from the pool, and a
 * configuration of the space that the pool lacks is unmeasurable (the budget is spent, as on a testbed
 * run that fails). The space is the one the pool's knobs span: every cut, frequency, thread count,
 * accelerator mode, codec and cloud mode the pool records, combined under space.ts's rules. A pool does
 * not record tensor shapes, so no codec is refused by a cut's rank here: a codec a cut cannot carry has
 * no runs in the pool and counts as unmeasurable.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { CLOUD_ONLY_CUT, EDGE_ONLY_CUT } from '../policy/index.ts';
import { paretoFront, type Objectives } from './front.ts';
import { frontHypervolume, objectiveBounds } from './hypervolume.ts';
import { aggregatePool, type Aggregate, type PoolRow } from './pool.ts';
import { search, type SearchOptions, type SearchResult } from './search.ts';
import { inSpace } from './search-types.ts';
import { buildSpace, indexOf, type Space, type SpaceCut } from './space.ts';

// Rank 3 passes every codec rule of space.ts (int8-token needs 3, int8-channel 2 or more): the pool, not the rank, says what ran.
const ANY_RANK: readonly number[] = [1, 1, 1];

export interface PoolSpace {
  space: Space;
  /** The pool's configuration at each mixed-radix index. */
  at: Map<number, Aggregate>;
  /** Configurations of the pool the space cannot name (no knob columns, or the same knobs as an earlier one). */
  outside: Aggregate[];
}

/** The space the knobs of one model's aggregates span, and where each aggregate sits in it. */
export function poolSpace(aggregates: readonly Aggregate[]): PoolSpace {
  const named = aggregates.filter((a) => a.configuration.cut !== '');
  if (named.length === 0) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, 'the pool records no knobs (cut, codec, frequency, ...): a search needs them to tell configurations apart; ' +
      'import with --map cut=COLUMN,... (docs/optimizer.md)');
  }
  const split = (a: Aggregate) => a.configuration.cut !== CLOUD_ONLY_CUT;
  const offloaded = (a: Aggregate) => a.configuration.cut !== EDGE_ONLY_CUT;
  const values = <T>(list: readonly Aggregate[], get: (a: Aggregate) => T, fallback: T): T[] => {
    const seen = [...new Set(list.map(get))];
    return seen.length > 0 ? seen : [fallback];
  };
  const cutNames = values(named, (a) => a.configuration.cut, '');
  const accelerators = values(named.filter(split), (a) => a.configuration.edge_accelerator ?? '', '');
  const knobs = {
    frequenciesMhz: values(named, (a) => a.configuration.edge_frequency_mhz ?? 0, 0),
    threads: values(named.filter(split), (a) => a.configuration.edge_threads ?? 0, 0),
    // 'none' (CPU only) first, as space.ts expects.
    accelerators: [...accelerators.filter((m) => m === 'none'), ...accelerators.filter((m) => m !== 'none')],
    codecs: values(named.filter(offloaded), (a) => a.configuration.codec, ''),
    cloudModes: values(named.filter(offloaded), (a) => a.configuration.cloud_accelerator ?? '', ''),
  };
  const cuts: SpaceCut[] = cutNames.map((name) => ({ name, shape: ANY_RANK, paramBytesBefore: 0 }));
  const space = buildSpace(cuts, knobs);
  const at = new Map<number, Aggregate>();
  const outside: Aggregate[] = aggregates.filter((a) => a.configuration.cut === '');
  for (const a of named) {
    const c = a.configuration;
    const cloudOnly = !split(a);
    const edgeOnly = !offloaded(a);
    const genes = [
      cutNames.indexOf(c.cut), knobs.frequenciesMhz.indexOf(c.edge_frequency_mhz ?? 0),
      cloudOnly ? 0 : knobs.threads.indexOf(c.edge_threads ?? 0), cloudOnly ? 0 : knobs.accelerators.indexOf(c.edge_accelerator ?? ''),
      edgeOnly ? 0 : knobs.codecs.indexOf(c.codec), edgeOnly ? 0 : knobs.cloudModes.indexOf(c.cloud_accelerator ?? ''),
    ];
    const index = indexOf(space, genes);
    if (at.has(index) || !inSpace(space, index)) outside.push(a);
    else at.set(index, a);
  }
  return { space, at, outside };
}

export interface PoolSearch extends SearchResult {
  /** The pool rows of the configurations measured: a pool itself (`optimizer front`, `eval simulate --front-from`). */
  sample: PoolRow[];
  spaceSize: number;
  /** Configurations in the pool, and on its exact front. */
  poolConfigurations: number;
  exactFront: number;
  /** Hypervolume of the sample's front over the exact front's, normalized to the pool's range (rangeHypervolumeRatio). */
  hypervolumeRatio: number;
  outside: number;
}

/** Searches one model's pool rows; the budget counts configurations of the pool's space. */
export function searchPool(rows: readonly PoolRow[], options: SearchOptions): PoolSearch {
  const aggregates = aggregatePool(rows);
  const models = new Set(aggregates.map((a) => a.model));
  if (models.size > 1) throw new DynasplitError(ErrorCodes.BAD_ARGS, `search: the rows hold several models (${[...models].join(', ')}); give one`);
  const { space, at, outside } = poolSpace(aggregates);
  const result = search(space, (index) => at.get(index), options);
  const measured = new Set(result.trials.filter((t) => t.outcome).map((t) => at.get(t.index)!.configuration.name));
  const exact = paretoFront([...at.values()]);
  return {
    ...result,
    sample: rows.filter((r) => measured.has(r.configuration)),
    spaceSize: space.size,
    poolConfigurations: at.size,
    exactFront: exact.length,
    hypervolumeRatio: rangeHypervolumeRatio(result.front.map((i) => at.get(i)!), exact, [...at.values()]),
    outside: outside.length,
  };
}

/**
 * Hypervolume of `approx` over that of `exact`, both normalized to the range of `all` (every
 * configuration of the pool). hypervolume.ts's hypervolumeRatio normalizes to the two fronts' own
 * range, where a front 1% off in energy can score near 0 when the exact front spans 2%; against the
 * pool's range the ratio says how much of the attainable trade-off a sample misses.
 */
export function rangeHypervolumeRatio(approx: readonly Objectives[], exact: readonly Objectives[], all: readonly Objectives[]): number {
  const bounds = objectiveBounds(all, exact, approx);
  const whole = frontHypervolume(exact, bounds);
  return whole > 0 ? frontHypervolume(approx, bounds) / whole : approx.length > 0 ? 1 : 0;
}
