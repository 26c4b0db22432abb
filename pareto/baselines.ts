/**
 * Baseline marks on profiled rows (the pool's `baseline` column, docs/optimizer.md), so the
 * evaluation's cloud-only and edge-only strategies, and its savings against cloud-only, find their
 * configurations in a pool the profiler wrote. Pure.
 */
import { CLOUD_ONLY_CUT, EDGE_ONLY_CUT } from '../policy/index.ts';
import { aggregatePool, type PoolRow } from './pool.ts';

/**
 * Marks, in place:
 * - 'cloud-only': the runs with cut 'input' and a lossless codec (fp32: the input as captured, the
 *   whole model in the cloud, DynaSplit's cloud-only baseline); a lossy input codec is a choice, not
 *   the baseline. A model with no lossless cloud-only run has all its cut-'input' runs marked.
 * - 'edge-only': the runs of the fastest edge-only configuration (cut 'output', least median latency;
 *   ties: less energy, then the first), DynaSplit's whole model at the edge's fastest setting; a
 *   measured configuration when there is one, else a predicted one.
 */
export function markBaselines(measured: PoolRow[], predicted: PoolRow[] = []): void {
  const all = [...measured, ...predicted];
  for (const model of new Set(all.map((r) => r.model))) {
    const of = (rows: readonly PoolRow[]) => rows.filter((r) => r.model === model);
    const cloudOnly = of(all).filter((r) => r.cut === CLOUD_ONLY_CUT);
    const lossless = cloudOnly.filter((r) => LOSSLESS.has(r.codec));
    for (const row of lossless.length > 0 ? lossless : cloudOnly) row.baseline = 'cloud-only';
    const fastest = fastestEdgeOnly(of(measured)) ?? fastestEdgeOnly(of(predicted));
    for (const row of of(all)) if (row.configuration === fastest) row.baseline = 'edge-only';
  }
}

const LOSSLESS = new Set(['', 'fp32']);

/** The name of the edge-only configuration with the least median latency among `rows` (one model's). */
function fastestEdgeOnly(rows: readonly PoolRow[]): string | undefined {
  const candidates = aggregatePool(rows.filter((r) => r.cut === EDGE_ONLY_CUT));
  let best = candidates[0];
  for (const a of candidates) if (a.latencyMs < best.latencyMs || (a.latencyMs === best.latencyMs && a.energyJ < best.energyJ)) best = a;
  return best?.configuration.name;
}
