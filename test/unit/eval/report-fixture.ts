/** A hand-made results file shared by the report's tests (results, claims, Markdown). */
import type { Results, StrategyReport } from '../../../eval/index.ts';

/** A strategy's figures, as the simulation reports them; `over` changes some. */
export function figures(over: Partial<StrategyReport>): StrategyReport {
  return {
    requests: 100, meanEnergyJ: 1, medianEnergyJ: 1, budgetMetRate: 1, meanLatencyMs: 100, p95LatencyMs: 150, meanAccuracy: 1,
    savingsVsCloudOnly: null, configurations: { c: 100 }, ...over,
  };
}

/** dynasplit spends 1.06x the oracle, meets 2.5 points fewer budgets, loses 0.5 accuracy points to cloud-only. */
export const handMade: Results = {
  strategies: {
    'cloud-only': figures({ meanEnergyJ: 2, budgetMetRate: 0.9, meanAccuracy: 0.99, savingsVsCloudOnly: 0 }),
    dynasplit: figures({ meanEnergyJ: 1.06, budgetMetRate: 0.95, meanAccuracy: 0.985, savingsVsCloudOnly: 0.47 }),
    oracle: figures({ meanEnergyJ: 1, budgetMetRate: 0.975, meanAccuracy: 0.97, savingsVsCloudOnly: 0.5 }),
  },
};
