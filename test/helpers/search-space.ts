/**
 * A configuration space with known structure for the search tests: a cut splits work between a slow
 * edge and a fast cloud, frequency and threads speed the edge up at a power cost, an accelerator runs
 * most of the head at less energy, codecs trade bytes for accuracy, the cloud's GPU is fast but
 * power-hungry. Some configurations are absent, as from a real pool: the accelerator cannot hold the
 * heads of the last cuts (a structured absence a search can learn) and a seeded 3% failed at random.
 * Figures come from seeded tables plus per-configuration noise (±2.5%).
 */
import { tensorRng } from '../../common/index.ts';
import { buildSpace, genesOf, paretoFront, type Objectives, type Space, type SpaceCut } from '../../pareto/index.ts';

export interface TestSpace {
  space: Space;
  /** Objectives by mixed-radix index; configurations absent from the pool are not in it. */
  pool: Map<number, Objectives>;
  exact: Objectives[];
}

export function testSpace(seed: number, splitCuts = 8): TestSpace {
  const rng = tensorRng(seed, 'test/search-space');
  const table = (n: number, low: number, high: number) => Array.from({ length: n }, () => low + (high - low) * rng.nextFloat());
  const cuts: SpaceCut[] = [
    { name: 'input', shape: [1, 3, 32, 32], paramBytesBefore: 0 },
    ...Array.from({ length: splitCuts }, (_, i) => ({ name: `block${i + 1}`, shape: [1, 16, 8, 8], paramBytesBefore: (i + 1) * 1000 })),
    { name: 'output', shape: [1, 10], paramBytesBefore: (splitCuts + 1) * 1000 },
  ];
  const space = buildSpace(cuts, {
    frequenciesMhz: [600, 1200, 1800], threads: [1, 4], accelerators: ['none', 'tpu'], cloudModes: ['cpu', 'gpu'], codecs: ['fp32', 'fp16', 'int8'],
  });
  const n = cuts.length;
  const head = [0, ...table(n - 2, 0.05, 0.95).sort((a, b) => a - b), 1];
  const bytes = [1, ...table(n - 2, 0.1, 1.5), 0];
  const loss = table(n, 0.002, 0.02);
  const speed = [0.4, 0.75, 1];
  const parallel = [1, 2.6];
  const shrink = [1, 0.5, 0.25];
  const codecLoss = [0, 0.0005, 1];
  const pool = new Map<number, Objectives>();
  const failed = tensorRng(seed, 'test/search-space/failed');
  for (const index of space.indices) {
    const [c, f, t, a, codec, m] = genesOf(space, index);
    const absent = (a === 1 && c >= n - 3) || failed.nextFloat() < 0.03;
    if (absent) continue;
    const edgeMs = (200 * head[c]) / (speed[f] * parallel[t] * (a === 1 ? 4 : 1));
    const linkMs = c === n - 1 ? 0 : 2 + 30 * bytes[c] * shrink[codec];
    const cloudMs = c === n - 1 ? 0 : (40 * (1 - head[c])) / (m === 1 ? 8 : 1) + (m === 1 ? 3 : 0);
    const edgeW = a === 1 ? 1.2 : 0.6 * parallel[t] * speed[f] ** 2;
    const noise = 0.975 + 0.05 * tensorRng(seed, `noise/${index}`).nextFloat();
    pool.set(index, {
      latencyMs: (edgeMs + linkMs + cloudMs) * noise,
      energyJ: (edgeMs * edgeW + linkMs * 0.5 + cloudMs * (m === 1 ? 3 : 1.2) + 2.7 * (linkMs + cloudMs)) * noise / 1000,
      accuracy: c === n - 1 ? 1 : 1 - codecLoss[codec] * loss[c] - (a === 1 ? 0.003 : 0),
    });
  }
  return { space, pool, exact: paretoFront([...pool.values()]) };
}
