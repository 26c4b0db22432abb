/**
 * The search driving measurement runs (a profiler on live nodes): `run(config)` measures one
 * configuration and resolves to the runs it recorded, none when it failed; the search sees each
 * configuration's aggregated figures (aggregatePool: median latency, mean energy, mean accuracy) and
 * spends one unit of budget per configuration, recorded or not. Nothing here does I/O.
 */
import type { Configuration } from '../policy/index.ts';
import { aggregatePool, type PoolRow } from './pool.ts';
import { searchAsync, type SearchOptions, type SearchResult } from './search.ts';
import { configurationAt, type Space } from './space.ts';

export interface RunSearch extends SearchResult {
  /** Configurations in the order measured, with the runs each recorded (empty when it failed). */
  measured: { config: Configuration; rows: PoolRow[] }[];
}

export async function searchRuns(space: Space, run: (config: Configuration) => Promise<readonly PoolRow[]>, options: SearchOptions): Promise<RunSearch> {
  const measured: RunSearch['measured'] = [];
  const result = await searchAsync(space, async (index) => {
    const config = configurationAt(space, index);
    const rows = [...await run(config)];
    measured.push({ config, rows });
    return rows.length > 0 ? aggregatePool(rows)[0] : undefined;
  }, options);
  return { ...result, measured };
}
