/**
 * The pure half of profiling: which configurations to measure (a seeded sample), fitting the cost
 * models of estimates.ts to what was measured, the held-out prediction error, and pool rows for the
 * configurations that were not measured — marked 'modelled', so nothing predicted passes as measured.
 * Profile per cut point once, predict the rest from models of frequency and link.
 */
import { ErrorCodes, isDynasplitError, medianOfSorted, nearestRank, tensorRng } from '../common/index.ts';
import { activePowerW, idlePowerW, predictedComputeMs } from '../hardware/index.ts';
import { CLOUD_ONLY_CUT, EDGE_ONLY_CUT, type Configuration } from '../policy/index.ts';
import {
  fitCorrections, predict, priorAccuracy, type Corrections, type LinkModel, type Observation, type PredictContext, type Prediction,
} from './estimates.ts';
import { fitLink } from './link-fit.ts';
import { poolRow, type PoolRow } from './pool.ts';

/** The runs of one configuration that answered (warm-up runs excluded). */
export interface Measured {
  config: Configuration;
  rows: PoolRow[];
}

/** What prediction needs besides the fitted figures: the model's cuts and both device profiles. */
export type ModelContext = Omit<PredictContext, 'corrections' | 'link'>;

/**
 * The fitted model: estimates.ts's corrections and link, a fixed cost per inference of each part,
 * and the time a request spends outside the three modelled stages (queues, preprocessing, encoding,
 * messaging) as medians over the runs, ms: `local` for edge-only requests, `offloaded` for the others.
 */
export interface FittedModel {
  corrections: Corrections;
  /**
   * Fixed cost per inference: of the edge's head in FLOPs at the edge's setting (it runs at the
   * edge's clock), of the cloud's tail in ms (the same in every cloud mode, as measured).
   */
  fixed: { edgeFlops: number; cloudMs: number };
  link: LinkModel;
  overheadMs: { local: number; offloaded: number };
}

/** Absolute percentage errors of the predictions for held-out configurations, in percent. */
export interface HeldOutError {
  /** Configurations held out (predicted from a fit on the others). */
  count: number;
  /** Configurations the fit used. */
  fittedOn: number;
  latencyMedianPct: number;
  latencyP90Pct: number;
  energyMedianPct: number;
  energyP90Pct: number;
}

/** Link used until measurements say otherwise: 100 Mbit/s, 1 ms round trip (fitLink's fallback). */
export const DEFAULT_LINK: LinkModel = { bandwidthMbps: 100, rttMs: 1 };
/** Share of the measured configurations held out to report the prediction error. */
export const HELD_OUT_SHARE = 0.2;
const MFLOP = 1e6;

/** `count` distinct indices of 0..n-1, ascending, chosen by a seeded partial Fisher-Yates shuffle. */
export function sampleIndices(n: number, count: number, seed: number, stream: string): number[] {
  const k = Math.max(0, Math.min(n, Math.round(count)));
  const order = Array.from({ length: n }, (_, i) => i);
  const rng = tensorRng(seed, stream);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.nextFloat() * (n - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, k).sort((a, b) => a - b);
}

/** How many of `n` configurations a sample share measures: at least 2 (one to fit, one to hold out) when n allows. */
export function sampleCount(n: number, share: number): number {
  if (share >= 1) return n;
  return Math.min(n, Math.max(2, Math.round(share * n)));
}

/**
 * Fits, in order: the link on (bytes, transfer ms) of offloaded runs; the stage corrections
 * (estimates.ts), where the measured head and tail sizes allow replaced by a scale plus a fixed cost
 * per inference; the overheads; the energy correction. The energy correction is refitted against the
 * corrected stage times plus the overhead at the edge's idle power (estimates.ts fits it against
 * uncorrected stage times, which the stage corrections would then count twice).
 */
export function fitModel(measured: readonly Measured[], ctx: ModelContext, fallbackLink: LinkModel = DEFAULT_LINK): FittedModel {
  const runs = measured.flatMap((m) => m.rows.map((row) => ({ config: m.config, row })));
  const offloaded = runs.filter(({ config, row }) => config.cut !== EDGE_ONLY_CUT && row.tensorBytes > 0 && Number.isFinite(row.transferMs));
  const fittedLink = fitLink(offloaded.map(({ row }) => ({ bytes: row.tensorBytes, transferMs: row.transferMs })), fallbackLink);
  const link: LinkModel = { bandwidthMbps: fittedLink.bandwidthMbps, rttMs: fittedLink.rttMs };
  const observations: Observation[] = runs.map(({ config, row }) => ({
    config, edgeComputeMs: row.edgeComputeMs, transferMs: row.transferMs, cloudComputeMs: row.cloudComputeMs, energyJ: 0,
  }));
  const stages = fitCorrections(observations, { ...ctx, link });
  const edge = scaleAndFixed(stagePoints(measured, ctx, 'edge'));
  const cloud = scaleAndFixed(stagePoints(measured, ctx, 'cloud'));
  const corrections = { ...stages, edge: edge?.scale ?? stages.edge, cloud: cloud?.scale ?? stages.cloud, energy: 1 };
  const fixed = { edgeFlops: (edge?.fixed ?? 0) * MFLOP, cloudMs: cloud?.fixed ?? 0 };
  const rest = (local: boolean) => runs
    .filter(({ config }) => (config.cut === EDGE_ONLY_CUT) === local)
    .map(({ row }) => row.latencyMs - finite(row.edgeComputeMs) - finite(row.transferMs) - finite(row.cloudComputeMs))
    .sort((a, b) => a - b);
  const [local, remote] = [rest(true), rest(false)];
  const overhead = (xs: number[], other: number[]) => Math.max(0, xs.length ? medianOfSorted(xs) : other.length ? medianOfSorted(other) : 0);
  const unscaled: FittedModel = { corrections, fixed, link, overheadMs: { local: overhead(local, remote), offloaded: overhead(remote, local) } };
  // No meter ('' source): the joules mean nothing.
  const ratios = runs.filter(({ row }) => row.energySource !== '' && row.energyJ > 0)
    .map(({ config, row }) => row.energyJ / expected(config, ctx, unscaled).energyJ)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  return { ...unscaled, corrections: { ...corrections, energy: ratios.length ? medianOfSorted(ratios) : 1 } };
}

/**
 * What a configuration is expected to cost under a fitted model: estimates.ts's corrected stages plus
 * the fixed costs of the parts that run, the overhead on the latency (and at the edge's idle power on
 * the energy), the energy then scaled.
 */
export function expected(config: Configuration, ctx: ModelContext, fitted: FittedModel): Prediction {
  const p = predict(config, { ...ctx, link: fitted.link, corrections: { ...fitted.corrections, energy: 1 } });
  const edgeFixedMs = config.cut !== CLOUD_ONLY_CUT ? predictedComputeMs(fitted.fixed.edgeFlops, ctx.edge, edgeSetting(config)) : 0;
  const cloudFixedMs = config.cut !== EDGE_ONLY_CUT ? fitted.fixed.cloudMs : 0;
  const overheadMs = config.cut === EDGE_ONLY_CUT ? fitted.overheadMs.local : fitted.overheadMs.offloaded;
  const idleW = idlePowerW(ctx.edge);
  // W * ms / 1000 = J; the edge idles while the cloud computes (estimates.ts's energy model).
  const extraJ = (activePowerW(ctx.edge, edgeSetting(config)) * edgeFixedMs
    + (idleW + activePowerW(ctx.cloud, cloudSetting(config))) * cloudFixedMs + idleW * overheadMs) / 1000;
  return {
    ...p,
    latencyMs: p.latencyMs + edgeFixedMs + cloudFixedMs + overheadMs,
    energyJ: fitted.corrections.energy * (p.energyJ + extraJ),
    edgeComputeMs: p.edgeComputeMs + edgeFixedMs,
    cloudComputeMs: p.cloudComputeMs + cloudFixedMs,
  };
}

/**
 * One stage's points over the measured configurations that run it: x = the profile's ms for the
 * part's FLOPs, y = the median measured ms, u = the edge's ms for one MFLOP at the same setting (a
 * framework's per-inference cost runs at the edge's clock, and an emulated edge dilates it with the
 * rest), or 1 on the cloud (a cloud mode faster than its host cannot shrink the host's fixed cost, and
 * measured tails cost about the same fixed time in every mode).
 */
function stagePoints(measured: readonly Measured[], ctx: ModelContext, stage: 'edge' | 'cloud'): StagePoint[] {
  const runsStage = (c: Configuration) => (stage === 'edge' ? c.cut !== CLOUD_ONLY_CUT : c.cut !== EDGE_ONLY_CUT);
  return measured.filter((m) => m.rows.length > 0 && runsStage(m.config)).map(({ config, rows }) => {
    const p = predict(config, { ...ctx, link: DEFAULT_LINK });
    const u = stage === 'edge' ? predictedComputeMs(MFLOP, ctx.edge, edgeSetting(config)) : 1;
    const ys = rows.map((r) => (stage === 'edge' ? r.edgeComputeMs : r.cloudComputeMs)).filter(Number.isFinite).sort((a, b) => a - b);
    return { x: stage === 'edge' ? p.edgeComputeMs : p.cloudComputeMs, u, y: ys.length ? medianOfSorted(ys) : NaN };
  });
}

interface StagePoint { x: number; u: number; y: number }

/**
 * y ~ scale * x + fixed * u by least squares weighted by 1/y^2 (relative error): a framework's
 * per-inference cost (session run, kernel launches) does not grow with the FLOPs. Undefined where the
 * points cannot tell the terms apart (one part size) or a term comes out negative: the median ratio
 * of estimates.ts stands, without a fixed cost.
 */
function scaleAndFixed(points: readonly StagePoint[]): { scale: number; fixed: number } | undefined {
  let sxx = 0, sxu = 0, suu = 0, sxy = 0, suy = 0;
  for (const { x, u, y } of points) {
    if (!(y > 0) || !Number.isFinite(x) || !Number.isFinite(u)) continue;
    const w = 1 / (y * y);
    sxx += w * x * x; sxu += w * x * u; suu += w * u * u; sxy += w * x * y; suy += w * u * y;
  }
  const det = sxx * suu - sxu * sxu;
  if (!(det > 1e-9 * sxx * suu)) return undefined;
  const scale = (sxy * suu - suy * sxu) / det;
  const fixed = (suy * sxx - sxy * sxu) / det;
  return scale > 0 && fixed >= 0 ? { scale, fixed } : undefined;
}

function edgeSetting(c: Configuration) {
  return { frequencyMhz: c.edge_frequency_mhz || undefined, threads: c.edge_threads || undefined, accelerator: c.edge_accelerator || undefined };
}

function cloudSetting(c: Configuration) {
  return { cloudMode: c.cloud_accelerator || undefined };
}

/** Why the profiles cannot predict a configuration (a setting they do not have), or undefined. */
export function unpredictable(config: Configuration, ctx: ModelContext): { code: string; message: string } | undefined {
  try {
    predict(config, { ...ctx, link: DEFAULT_LINK });
    return undefined;
  } catch (err) {
    return { code: isDynasplitError(err) ? err.code : ErrorCodes.BAD_ARGS, message: (err as Error).message };
  }
}

/** Mean measured top-1 agreement per codec ('' for edge-only), for predicted rows. */
export function accuracyByCodec(measured: readonly Measured[]): Map<string, number> {
  const sums = new Map<string, { sum: number; n: number }>();
  for (const m of measured) {
    for (const row of m.rows) {
      if (!Number.isFinite(row.accuracy)) continue;
      const s = sums.get(m.config.codec) ?? { sum: 0, n: 0 };
      sums.set(m.config.codec, { sum: s.sum + row.accuracy, n: s.n + 1 });
    }
  }
  return new Map([...sums].map(([codec, s]) => [codec, s.sum / s.n]));
}

/** The predicted row of a configuration not measured: every source 'modelled'. */
export function predictedRow(model: string, config: Configuration, ctx: ModelContext, fitted: FittedModel, accuracy: Map<string, number>): PoolRow {
  const p = expected(config, ctx, fitted);
  return poolRow({
    ...configurationFields(model, config),
    latencyMs: p.latencyMs,
    energyJ: p.energyJ,
    // Agreement is a property of the codec, not of the hardware: the measured one where there is one.
    accuracy: accuracy.get(config.codec) ?? priorAccuracy(config.codec),
    edgeComputeMs: p.edgeComputeMs,
    transferMs: p.transferMs,
    cloudComputeMs: p.cloudComputeMs,
    tensorBytes: p.tensorBytes,
    latencySource: 'modelled',
    energySource: 'modelled',
  });
}

/**
 * Holds out a seeded HELD_OUT_SHARE of the measured configurations (at least one), fits on the rest,
 * and compares the predictions with the held-out measurements (latency: median of the runs; energy:
 * mean, as aggregatePool does). Undefined with fewer than two measured configurations.
 */
export function heldOutError(measured: readonly Measured[], ctx: ModelContext, seed: number, fallbackLink: LinkModel = DEFAULT_LINK): HeldOutError | undefined {
  const usable = measured.filter((m) => m.rows.length > 0);
  if (usable.length < 2) return undefined;
  const count = Math.min(usable.length - 1, Math.max(1, Math.round(HELD_OUT_SHARE * usable.length)));
  const held = new Set(sampleIndices(usable.length, count, seed, 'profile-held-out'));
  const fitted = fitModel(usable.filter((_, i) => !held.has(i)), ctx, fallbackLink);
  const latency: number[] = [];
  const energy: number[] = [];
  for (const i of held) {
    const m = usable[i];
    const p = predictedRow('', m.config, ctx, fitted, new Map());
    latency.push(ape(p.latencyMs, medianOfSorted(m.rows.map((r) => r.latencyMs).sort((a, b) => a - b))));
    const withEnergy = m.rows.filter((r) => r.energySource !== '');
    if (withEnergy.length > 0) energy.push(ape(p.energyJ, withEnergy.reduce((s, r) => s + r.energyJ, 0) / withEnergy.length));
  }
  const summary = (xs: number[]) => {
    const sorted = xs.filter(Number.isFinite).sort((a, b) => a - b);
    return sorted.length ? [medianOfSorted(sorted), nearestRank(sorted, 0.9)] : [NaN, NaN];
  };
  const [latencyMedianPct, latencyP90Pct] = summary(latency);
  const [energyMedianPct, energyP90Pct] = summary(energy);
  return { count: held.size, fittedOn: usable.length - held.size, latencyMedianPct, latencyP90Pct, energyMedianPct, energyP90Pct };
}

/** The pool's knob columns of a configuration. */
export function configurationFields(model: string, config: Configuration) {
  return {
    model,
    configuration: config.name,
    cut: config.cut,
    codec: config.codec,
    edgeFrequencyMhz: config.edge_frequency_mhz ?? 0,
    edgeThreads: config.edge_threads ?? 0,
    edgeAccelerator: config.edge_accelerator ?? '',
    cloudAccelerator: config.cloud_accelerator ?? '',
  };
}

/** |predicted - measured| / measured, percent; NaN when nothing was measured. */
function ape(predicted: number, measured: number): number {
  return measured > 0 ? (Math.abs(predicted - measured) / measured) * 100 : NaN;
}

function finite(x: number): number {
  return Number.isFinite(x) ? x : 0;
}
