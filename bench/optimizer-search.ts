/**
 * The budget/quality curve of a search on a measuring budget, on the project's own pools (the
 * evaluation run's, docs/results/testbed): for each share of the space measured and each strategy,
 * over several seeds, the hypervolume of the sample's front over the exact front's (normalized to the
 * pool's range), and what scheduling from the sample costs: DynaSplit's rule on the sample's front,
 * outcomes replayed from the whole pool (eval simulate --front-from), next to the same rule on the
 * exact front. The figures are computed from recorded runs; nothing here is timed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simulate } from '../eval/index.ts';
import { aggregatePool, budgetCount, poolSpace, readPool, searchPool, type PoolRow, type SearchStrategy } from '../pareto/index.ts';
import { printTable } from './harness.ts';

const POOLS = ['vgg16', 'vit-b16'];
const SHARES = [0.05, 0.1, 0.2, 0.5];
const STRATEGIES: SearchStrategy[] = ['random', 'nsga2', 'nsga3', 'model'];
const SEEDS = Array.from({ length: 10 }, (_, i) => i + 1);
/** Requests per simulation: Weibull(2) budgets scaled to the pool, as in the evaluation (docs/results). */
const REQUESTS = 10_000;
const BUDGETS = 'weibull:2';

export async function benchSearch(): Promise<void> {
  for (const model of POOLS) {
    const rows = readPool(readFileSync(join(import.meta.dirname, '..', 'docs', 'results', 'testbed', `pool-${model}.csv`), 'utf8'));
    const size = poolSpace(aggregatePool(rows)).space.size;
    const exact = simulate({ rows, budgets: BUDGETS, requests: REQUESTS, strategies: ['dynasplit'], seed: 1 }).strategies.dynasplit;
    const table: (string | number)[][] = [];
    for (const share of SHARES) {
      const budget = budgetCount(String(share), size);
      for (const strategy of STRATEGIES) table.push([`${(share * 100).toFixed(0)}% (${budget})`, strategy, ...curvePoint(rows, budget, strategy, exact.meanEnergyJ)]);
    }
    printTable(`search on a measuring budget, ${model} pool (docs/results/testbed: ${aggregatePool(rows).length} configurations measured of a ` +
      `${size}-configuration space), mean over seeds ${SEEDS[0]}-${SEEDS.at(-1)} (computed from recorded runs); DynaSplit on the exact front: ` +
      `${exact.meanEnergyJ.toFixed(4)} J per request, ${pct(exact.budgetMetRate)} budgets met, ${pct(exact.savingsVsCloudOnly)} saved vs cloud-only`,
    ['budget', 'strategy', 'HV / exact', 'HV worst seed', 'unmeasurable', 'energy vs exact front', 'budgets met', 'saved vs cloud-only'], table);
  }
}

/** Means over the seeds: hypervolume ratio, its worst seed, unmeasurable, and DynaSplit scheduling from the sample. */
function curvePoint(rows: readonly PoolRow[], budget: number, strategy: SearchStrategy, exactEnergyJ: number): string[] {
  let hv = 0, worst = Infinity, unmeasurable = 0, energy = 0, met = 0, saved = 0, scheduled = 0;
  for (const seed of SEEDS) {
    const result = searchPool(rows, { budget, strategy, seed });
    hv += result.hypervolumeRatio;
    worst = Math.min(worst, result.hypervolumeRatio);
    unmeasurable += result.unmeasurable;
    // A sample with nothing measured has no front to schedule from.
    if (result.sample.length === 0) continue;
    scheduled++;
    const report = simulate({ rows, scheduleFrom: result.sample, budgets: BUDGETS, requests: REQUESTS, strategies: ['dynasplit'], seed: 1 }).strategies.dynasplit;
    energy += report.meanEnergyJ / exactEnergyJ - 1;
    met += report.budgetMetRate;
    saved += report.savingsVsCloudOnly ?? NaN;
  }
  const n = SEEDS.length;
  const mean = (x: number) => (scheduled > 0 ? x / scheduled : NaN);
  const extra = mean(energy) * 100;
  return [(hv / n).toFixed(4), worst.toFixed(4), (unmeasurable / n).toFixed(1), `${extra >= 0 ? '+' : ''}${extra.toFixed(1)}%`, pct(mean(met)), pct(mean(saved))];
}

const pct = (x: number | null) => (x === null || Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(1)}%`);
