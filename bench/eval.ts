/**
 * Simulation benchmark: `dynasplit eval simulate`'s core over 10,000 requests (the size of DynaSplit's
 * evaluation) and 1,000,000, all seven strategies, with and without the queueing model.
 *
 * The pool is SYNTHETIC, for timing only (see syntheticPool): 50 configurations x 20 runs shaped like
 * a split-computing space (cloud-only, edge-only, splits trading edge time for cloud time). The times
 * are measured: wall-clock seconds of one simulate() call after a warm-up run.
 */
import { tensorRng } from '../common/index.ts';
import { simulate, STRATEGY_NAMES, type SimulateOptions } from '../eval/index.ts';
import { poolRow, type PoolRow } from '../pareto/index.ts';
import { printTable } from './harness.ts';

export async function benchEval(): Promise<void> {
  const rows = syntheticPool(50, 20, 7);
  const base: SimulateOptions = { rows, budgets: 'weibull:2', strategies: STRATEGY_NAMES, seed: 1 };
  simulate({ ...base, requests: 10_000 });
  const cases: [string, number, SimulateOptions['queueing']][] = [
    ['plain', 10_000, undefined],
    ['plain', 1_000_000, undefined],
    ['queueing: 16 edges, 2 workers, 1 req/s each', 10_000, { edges: 16, workers: 2, ratePerSecond: 1 }],
    ['queueing: 16 edges, 2 workers, 1 req/s each', 1_000_000, { edges: 16, workers: 2, ratePerSecond: 1 }],
  ];
  const results: (string | number)[][] = [];
  for (const [label, requests, queueing] of cases) {
    const t0 = performance.now();
    const report = simulate({ ...base, requests, queueing });
    const seconds = (performance.now() - t0) / 1000;
    const d = report.strategies.dynasplit;
    results.push([label, requests.toLocaleString('en-US'), seconds.toFixed(2), Math.round(requests / seconds).toLocaleString('en-US'),
      `${(d.budgetMetRate * 100).toFixed(1)}%`, d.savingsVsCloudOnly === null ? 'n/a' : `${(d.savingsVsCloudOnly * 100).toFixed(1)}%`]);
  }
  printTable(`trace-driven simulation: synthetic pool of 50 configurations x 20 runs, ${STRATEGY_NAMES.length} strategies, ` +
    'weibull:2 budgets (measured wall-clock, one run each)', ['mode', 'requests', 'seconds', 'requests/s', 'dynasplit met', 'dynasplit saves'], results);
}

/**
 * A seeded pool shaped like a split-computing space (SYNTHETIC): two cloud-only configurations (CPU,
 * GPU), three edge-only frequencies, and `configurations - 5` splits. A split at depth d in (0, 1)
 * runs d of the model on a Pi-like edge (400 ms at 1800 MHz, 2 W static + 1.5 W x (f/1800)^2) and the
 * rest on the cloud (GPU: 8 ms at 250 W; CPU: 60 ms at 60 W), sending a tensor that shrinks with depth;
 * the edge idles at 1.5 W (+0.5 W radio while sending) while it waits. Lower-precision codecs send less
 * and lose a little accuracy. Each run adds ~10% noise and, 1 run in 20, a slow outlier (x1.5).
 */
export function syntheticPool(configurations: number, runs: number, seed: number): PoolRow[] {
  const rng = tensorRng(seed, 'bench/eval/pool');
  const u = () => rng.nextFloat();
  const rows: PoolRow[] = [];
  const IDLE_W = 1.5;
  const edgeW = (mhz: number) => 2 + 1.5 * (mhz / 1800) ** 2;
  const add = (name: string, cut: string, codec: string, mhz: number, parts: [number, number, number], cloudW: number, accuracy: number,
    baseline: PoolRow['baseline'] = '') => {
    for (let r = 0; r < runs; r++) {
      const noise = (0.9 + 0.2 * u()) * (u() < 0.05 ? 1.5 : 1);
      const [e, x, c] = [parts[0] * noise, parts[1] * (0.9 + 0.2 * u()), parts[2] * noise];
      rows.push(poolRow({
        model: 'synthetic', configuration: name, cut, codec, edgeFrequencyMhz: mhz, latencyMs: e + x + c + 1,
        energyJ: (e * edgeW(mhz) + x * (IDLE_W + 0.5) + c * (IDLE_W + cloudW)) / 1000,
        accuracy: Math.min(1, accuracy + 0.002 * (u() - 0.5)), edgeComputeMs: e, transferMs: x, cloudComputeMs: c, baseline,
      }));
    }
  };
  const EDGE_MS = 400;
  const INPUT_MS = 40;
  add('cloud-only/fp32[cloud:cpu]', 'input', 'fp32', 0, [0, INPUT_MS, 60], 60, 1);
  add('cloud-only/fp32[cloud:gpu]', 'input', 'fp32', 0, [0, INPUT_MS, 8], 250, 1, 'cloud-only');
  [600, 1200, 1800].forEach((mhz, k) => add(`edge-only[${mhz}MHz]`, 'output', '', mhz, [EDGE_MS * (1800 / mhz), 0, 0], 0, 1, k === 2 ? 'edge-only' : ''));
  const codecs = [['fp32', 1, 0], ['fp16', 0.5, 0.0005], ['int8', 0.25, 0.004]] as const;
  for (let k = 0; k < configurations - 5; k++) {
    const depth = 0.05 + 0.9 * u();
    const [codec, bytes, loss] = codecs[k % codecs.length];
    const mhz = [600, 1200, 1800][Math.floor(u() * 3)];
    add(`split@d${depth.toFixed(3)}/${codec}[${mhz}MHz,cloud:gpu]`, `d${depth.toFixed(3)}`, codec, mhz,
      [EDGE_MS * depth * (1800 / mhz), INPUT_MS * 4 * bytes * (1 - depth) ** 2, 8 * (1 - depth)], 250, 1 - loss);
  }
  return rows;
}
