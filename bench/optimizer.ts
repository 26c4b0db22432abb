/**
 * Optimizer benchmarks over the full VGG16 configuration space (38 cuts x 7 frequencies x 4 thread
 * counts x 3 accelerator modes x 6 codecs x 2 cloud modes, minus the rules): enumeration, the exact
 * front next to the naive all-pairs front, the per-request decision next to a linear scan and a
 * re-sort per request, a policy swap on the edge next to decoding the policy per request, and the
 * budget/quality curve of a search on a measuring budget over the project's pools (optimizer-search.ts).
 *
 * The objective values are SYNTHETIC, for timing only: a seeded cost model (FLOPs before and after the
 * cut over a Pi-4-like edge with a USB TPU and a CPU/GPU cloud node, the cut tensor's codec bytes over
 * a 100 Mbit/s link, seeded noise; see synthesize). The times are measured.
 */
import { join } from 'node:path';
import { tensorRng } from '../common/index.ts';
import { inspectModel, resolveModel, type ModelInspection } from '../model/index.ts';
import { buildSpace, configurationAt, cutsFromInspection, dominates, frontToPolicy, genesOf, hypervolumeRatio, indexOf, nsga2, paretoFront, paretoIndices, type FrontPoint, type Objectives, type Space } from '../pareto/index.ts';
import { compilePolicy, decide, decodePolicy, encodePolicy, type CompiledPolicy, type Entry } from '../policy/index.ts';
import { printTable, time } from './harness.ts';
import { benchSearch } from './optimizer-search.ts';

const CACHE = join(import.meta.dirname, '..', '.cache', 'bench-models');
const KNOBS = {
  frequenciesMhz: [600, 800, 1000, 1200, 1400, 1600, 1800], threads: [1, 2, 3, 4], accelerators: ['none', 'std', 'max'], cloudModes: ['cpu', 'gpu'],
};

interface Objectives3 { latency: Float64Array; energy: Float64Array; accuracy: Float64Array }

export async function benchOptimizer(): Promise<void> {
  process.stderr.write('inspecting vgg16 for the optimizer benchmark (cached in .cache/bench-models)...\n');
  const report = await inspectModel(await resolveModel('vgg16', { cacheDir: CACHE }));
  const cuts = cutsFromInspection(report);
  const enumerate = await time(() => buildSpace(cuts, KNOBS), { runs: 20 });
  const space = buildSpace(cuts, KNOBS);
  const objectives = synthesize(space, report);
  const { latency, energy, accuracy } = objectives;
  const exact = await time(() => paretoIndices(latency, energy, accuracy), { runs: 20 });
  const front = paretoIndices(latency, energy, accuracy);
  const naive = await time(() => naiveFront(objectives), { warmup: 1, runs: 3 });
  printTable(`vgg16 space: ${space.size} configurations (${space.sizeBeforeRules} before rules), front of ${front.length} ` +
    '(synthetic objective values, times measured, median)', ['operation', 'median ms', 'p90 ms', 'runs'], [
    ['enumerate the space (buildSpace)', ms(enumerate.medianMs), ms(enumerate.p90Ms), enumerate.runs],
    ['exact front: latency sort + staircase sweep', ms(exact.medianMs), ms(exact.p90Ms), exact.runs],
    ['naive front: all-pairs dominance, O(n^2) (baseline)', ms(naive.medianMs), ms(naive.p90Ms), naive.runs],
  ]);
  const points = Array.from(front, (i): FrontPoint => ({
    configuration: configurationAt(space, space.indices[i]), latencyMs: latency[i], latencyP95Ms: latency[i] * 1.2, energyJ: energy[i], accuracy: accuracy[i],
  }));
  await benchNsga2(space, objectives, points);
  const policy = frontToPolicy(points, { model: 'vgg16', edgeClass: 'pi4', version: 1, rule: 'energy-first', source: 'modelled' });
  await benchDecisions(compilePolicy(policy));
  await benchSwap(encodePolicy(policy));
  await benchSearch();
}

/**
 * NSGA-II against the exact front on the same space: what a search that evaluates only a share of
 * the space (as the reference design did, ~20%) loses, as the hypervolume of its front over the
 * exact one's; uniform random sampling at the same budget is the baseline.
 */
async function benchNsga2(space: Space, objectives: Objectives3, exact: readonly Objectives[]): Promise<void> {
  const position = new Map(Array.from(space.indices, (index, k) => [index, k]));
  const evaluate = (genes: Int32Array): Objectives | undefined => {
    const k = position.get(indexOf(space, genes));
    return k === undefined ? undefined : { latencyMs: objectives.latency[k], energyJ: objectives.energy[k], accuracy: objectives.accuracy[k] };
  };
  const rows: (string | number)[][] = [];
  for (const share of [0.05, 0.2]) {
    const budget = Math.round(space.size * share);
    const started = performance.now();
    const result = nsga2({ radices: space.radices, evaluate, budget, seed: 1 });
    const seconds = (performance.now() - started) / 1000;
    const rng = tensorRng(1, `random-${share}`);
    const sample = Array.from({ length: budget }, () => {
      const k = Math.floor(rng.nextFloat() * space.size);
      return { latencyMs: objectives.latency[k], energyJ: objectives.energy[k], accuracy: objectives.accuracy[k] };
    });
    rows.push([`${(share * 100).toFixed(0)}% (${budget} evaluations)`, hypervolumeRatio(result.front, exact).toFixed(4),
      hypervolumeRatio(paretoFront(sample), exact).toFixed(4), seconds.toFixed(2)]);
  }
  printTable('NSGA-II (seed 1) vs the exact front: hypervolume ratio, same synthetic objectives (computed; time measured)',
    ['budget', 'NSGA-II / exact', 'random sample / exact (baseline)', 'NSGA-II s'], rows);
}

/**
 * Latency (ms), energy (J), accuracy of every configuration from a seeded cost model (synthetic):
 * a Pi-4-like CPU (1.2 GFLOP/s per GHz per core, threads scaling as n^0.8, 2.7 W idle plus
 * 0.8 W per busy core per GHz^2), a USB TPU running 97% of the head's FLOPs (100 / 160 GFLOP/s in
 * std / max mode, +1.5 / +2.5 W, int8 weights: -0.4% accuracy), a 100 Mbit/s link with 5 ms RTT
 * (+1 W radio), a cloud CPU node (100 GFLOP/s, 120 W) or GPU node (3 TFLOP/s + 3 ms launch, 300 W).
 */
function synthesize(space: Space, report: ModelInspection): Objectives3 {
  const rng = tensorRng(0, 'bench/optimizer');
  const n = space.size;
  const out = { latency: new Float64Array(n), energy: new Float64Array(n), accuracy: new Float64Array(n) };
  const genes = new Int32Array(6);
  const infos = [report.input, ...report.cutPoints, report.output];
  const cutJitter = infos.map(() => 0.5 + rng.nextFloat());
  for (let k = 0; k < n; k++) {
    const [c, f, t, a, codec, m] = genesOf(space, space.indices[k], genes);
    const codecName = space.knobs.codecs[codec];
    const cost = costOf(infos[c], space.knobs.frequenciesMhz[f] / 1000, space.knobs.threads[t], a, codecName, m);
    const noise = 0.97 + 0.06 * rng.nextFloat();
    out.latency[k] = cost.seconds * 1000 * noise;
    out.energy[k] = cost.joules * noise;
    const loss = (infos[c].name === 'output' ? 0 : CODEC_LOSS[codecName] * cutJitter[c]) + (a > 0 ? 0.004 : 0);
    out.accuracy[k] = 1 - loss;
  }
  return out;
}

const BYTES_PER_ELEMENT: Record<string, number> = { fp32: 4, fp16: 2, int8: 1, uint8: 1, 'int8-channel': 1, 'int8-token': 1 };
const CODEC_LOSS: Record<string, number> = { fp32: 0, fp16: 0.0001, int8: 0.006, uint8: 0.005, 'int8-channel': 0.002, 'int8-token': 0.002 };

function costOf(cut: ModelInspection['input'], ghz: number, threads: number, accel: number, codec: string, cloudMode: number) {
  const cpuRate = 1.2e9 * ghz * threads ** 0.8;
  const cpuFlops = accel === 0 ? cut.flopsBefore : 0.03 * cut.flopsBefore;
  const cpuS = cpuFlops / cpuRate;
  const tpuS = accel === 0 ? 0 : (0.97 * cut.flopsBefore) / [0, 100e9, 160e9][accel];
  const edgeOnly = cut.name === 'output';
  const linkS = edgeOnly ? 0 : 0.005 + ((cut.bytesPerSample / 4) * BYTES_PER_ELEMENT[codec] * 8) / 100e6;
  const cloudS = edgeOnly ? 0 : cloudMode === 0 ? cut.flopsAfter / 100e9 : 0.003 + cut.flopsAfter / 3e12;
  const seconds = cpuS + tpuS + linkS + cloudS;
  const joules = 2.7 * seconds + 0.8 * threads * ghz ** 2 * cpuS + [0, 1.5, 2.5][accel] * tpuS + 1.0 * linkS + (cloudMode === 0 ? 120 : 300) * cloudS;
  return { seconds, joules };
}

/** The baseline: a point is on the front when no other point dominates it (duplicates kept once). */
function naiveFront({ latency, energy, accuracy }: Objectives3): number[] {
  const at = (i: number) => ({ latencyMs: latency[i], energyJ: energy[i], accuracy: accuracy[i] });
  const front: number[] = [];
  for (let i = 0; i < latency.length; i++) {
    const p = at(i);
    let kept = true;
    for (let j = 0; j < latency.length && kept; j++) {
      const q = at(j);
      if (dominates(q, p) || (j < i && q.latencyMs === p.latencyMs && q.energyJ === p.energyJ && q.accuracy === p.accuracy)) kept = false;
    }
    if (kept) front.push(i);
  }
  return front;
}

async function benchDecisions(policy: CompiledPolicy): Promise<void> {
  const rng = tensorRng(1, 'bench/budgets');
  const lo = policy.prefixMin[policy.entries.length - 1];
  const hi = policy.entries.reduce((m, e) => Math.max(m, e.latencyMs), 0);
  const budgets = Float64Array.from({ length: 100_000 }, () => lo * 0.9 + (hi - lo * 0.9) * rng.nextFloat());
  let sink = 0;
  const perRequest = async (fn: (b: number) => Entry | undefined, requests: number) => {
    const t = await time(() => { for (let i = 0; i < requests; i++) sink += fn(budgets[i])!.energyJ; }, { runs: 10 });
    return (t.medianMs * 1e6) / requests;
  };
  const entries = [...policy.entries];
  const rows = [
    ['decide: binary search over the compiled front', ns(await perRequest((b) => decide(policy, b), budgets.length))],
    ['linear scan of the sorted front (baseline)', ns(await perRequest((b) => linearScan(entries, b), budgets.length))],
    ['re-sort the front per request, then scan (baseline)', ns(await perRequest((b) => linearScan(sortEntries(entries), b), 2_000))],
  ];
  printTable(`decision per request over a front of ${entries.length} entries (measured, median of 10 batches)`, ['rule', 'ns per request'], rows);
  if (sink === 0) process.stderr.write('');
}

async function benchSwap(bytes: Uint8Array): Promise<void> {
  let current: CompiledPolicy = compilePolicy(decodePolicy(bytes));
  const swap = await time(() => { current = compilePolicy(decodePolicy(bytes)); }, { runs: 50 });
  const requests = 2_000;
  const naive = await time(() => {
    for (let i = 0; i < requests; i++) naiveDecide(bytes, 100);
  }, { runs: 5 });
  const after = await time(() => { for (let i = 0; i < requests; i++) decide(current, 100); }, { runs: 10 });
  printTable(`policy swap on the edge: ${bytes.length} bytes, ${current.entries.length} entries (measured, median)`, ['operation', 'µs'], [
    ['swap: decode + compilePolicy + pointer swap, once per publication', us(swap.medianMs)],
    ['then per request: decide on the swapped policy', us(after.medianMs / requests)],
    ['naive, per request: decode + sort + scan (baseline)', us(naive.medianMs / requests)],
  ]);
}

/** What an edge node without a compiled policy does: decode the retained message, sort, scan. */
function naiveDecide(bytes: Uint8Array, budgetMs: number): number {
  const entries = decodePolicy(bytes).entries
    .map((e) => ({ latencyMs: e.latency_ms ?? 0, energyJ: e.energy_j ?? 0, accuracy: e.accuracy ?? 0 }))
    .sort((a, b) => a.energyJ - b.energyJ || b.accuracy - a.accuracy);
  const fit = entries.find((e) => e.latencyMs <= budgetMs);
  return (fit ?? entries.reduce((best, e) => (e.latencyMs < best.latencyMs ? e : best))).energyJ;
}

function linearScan(entries: readonly Entry[], budgetMs: number): Entry | undefined {
  let fastest: Entry | undefined;
  for (const e of entries) {
    if (e.latencyMs <= budgetMs) return e;
    if (!fastest || e.latencyMs < fastest.latencyMs) fastest = e;
  }
  return fastest;
}

function sortEntries(entries: readonly Entry[]): Entry[] {
  return [...entries].sort((a, b) => a.energyJ - b.energyJ || b.accuracy - a.accuracy);
}

const ms = (milliseconds: number) => milliseconds.toFixed(2);
const us = (milliseconds: number) => (milliseconds * 1000).toFixed(3);
const ns = (nanoseconds: number) => nanoseconds.toFixed(0);
