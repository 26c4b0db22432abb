/**
 * What a configuration is expected to cost, from models (profile per cut point once, predict the
 * rest from models of frequency and link):
 *   latency = edge compute + transfer + cloud compute
 *     edge compute  = head FLOPs / device GFLOP/s at (frequency, threads, accelerator)   [profile]
 *     transfer      = rtt + encoded tensor bytes * 8 / bandwidth                        [link model]
 *     cloud compute = tail FLOPs / cloud GFLOP/s in its mode                              [profile]
 *   energy = edge active power * edge compute + edge idle power * (transfer + cloud compute)
 *          + cloud active power * cloud compute
 * Each component is then scaled by a correction fitted to measurements (median of measured/predicted),
 * so the model's shape comes from physics and its level from the node's own numbers. Figures from
 * here are modelled; measured configurations use their measurements (live.ts).
 */
import { codecFromName, encodedDataBytes } from '../codec/index.ts';
import { median } from '../common/index.ts';
import { activePowerW, idlePowerW, predictedComputeMs, type DeviceProfile } from '../hardware/index.ts';
import type { ModelInspection } from '../model/index.ts';
import type { Configuration } from '../policy/index.ts';

export interface LinkModel {
  /** Mbit/s */
  bandwidthMbps: number;
  /** ms */
  rttMs: number;
}

/** Multipliers fitted to measurements; 1 = the profile's word. */
export interface Corrections { edge: number; cloud: number; transfer: number; energy: number }
export const NO_CORRECTION: Corrections = { edge: 1, cloud: 1, transfer: 1, energy: 1 };

export interface PredictContext {
  inspection: Pick<ModelInspection, 'input' | 'cutPoints' | 'output'>;
  edge: DeviceProfile;
  cloud: DeviceProfile;
  link: LinkModel;
  corrections?: Corrections;
}

export interface Prediction {
  latencyMs: number;
  energyJ: number;
  edgeComputeMs: number;
  transferMs: number;
  cloudComputeMs: number;
  tensorBytes: number;
}

/**
 * Top-1 agreement assumed for a codec before any is measured: fp32 is exact, fp16's error (<1e-3
 * relative) does not move a top-1; 8-bit codecs are taken at 0.99, a prior the measured agreement
 * of sampled requests replaces.
 */
export function priorAccuracy(codec: string): number {
  return codec === '' || codec === 'fp32' || codec === 'fp16' ? 1 : 0.99;
}

export function predict(config: Configuration, ctx: PredictContext): Prediction {
  const k = ctx.corrections ?? NO_CORRECTION;
  const cut = config.cut === 'input' ? ctx.inspection.input
    : config.cut === 'output' ? ctx.inspection.output
      : ctx.inspection.cutPoints.find((c) => c.name === config.cut);
  if (!cut) throw new Error(`unknown cut ${config.cut}`);
  const edgeSetting = {
    frequencyMhz: config.edge_frequency_mhz || undefined,
    threads: config.edge_threads || undefined,
    accelerator: config.edge_accelerator || undefined,
  };
  const cloudSetting = { cloudMode: config.cloud_accelerator || undefined };
  const edgeComputeMs = cut.flopsBefore > 0 ? k.edge * predictedComputeMs(cut.flopsBefore, ctx.edge, edgeSetting) : 0;
  const offloaded = config.cut !== 'output';
  const tensorBytes = offloaded ? encodedDataBytes(cut.shape, codecFromName(config.codec || 'fp32')) : 0;
  const transferMs = offloaded ? k.transfer * transferTime(tensorBytes, ctx.link) : 0;
  const cloudComputeMs = offloaded && cut.flopsAfter > 0 ? k.cloud * predictedComputeMs(cut.flopsAfter, ctx.cloud, cloudSetting) : 0;
  const joules = (activePowerW(ctx.edge, edgeSetting) * edgeComputeMs
    + idlePowerW(ctx.edge) * (transferMs + cloudComputeMs)
    + (offloaded ? activePowerW(ctx.cloud, cloudSetting) * cloudComputeMs : 0)) / 1000;
  return { latencyMs: edgeComputeMs + transferMs + cloudComputeMs, energyJ: k.energy * joules, edgeComputeMs, transferMs, cloudComputeMs, tensorBytes };
}

export function transferTime(bytes: number, link: LinkModel): number {
  return link.rttMs + (link.bandwidthMbps > 0 ? (bytes * 8) / (link.bandwidthMbps * 1000) : 0);
}

export interface Observation {
  config: Configuration;
  edgeComputeMs: number;
  transferMs: number;
  cloudComputeMs: number;
  energyJ: number;
}

/**
 * Corrections as medians of measured/predicted per component (robust to a few odd runs). The energy
 * correction is fitted last, against predictions that already use the fitted stage times, so the
 * stage corrections are not counted twice.
 */
export function fitCorrections(observations: readonly Observation[], ctx: PredictContext): Corrections {
  const ratios = { edge: [] as number[], cloud: [] as number[], transfer: [] as number[], energy: [] as number[] };
  const add = (list: number[], measured: number, predicted: number) => {
    if (predicted > 1e-9 && measured > 0 && Number.isFinite(measured)) list.push(measured / predicted);
  };
  for (const o of observations) {
    const p = predict(o.config, { ...ctx, corrections: NO_CORRECTION });
    add(ratios.edge, o.edgeComputeMs, p.edgeComputeMs);
    add(ratios.cloud, o.cloudComputeMs, p.cloudComputeMs);
    add(ratios.transfer, o.transferMs, p.transferMs);
  }
  // No ratio for a component (nothing measured there): no correction, the profile's word stands.
  const fitted = (list: number[]) => (list.length > 0 ? median(list) : 1);
  const stages = { edge: fitted(ratios.edge), cloud: fitted(ratios.cloud), transfer: fitted(ratios.transfer), energy: 1 };
  for (const o of observations) add(ratios.energy, o.energyJ, predict(o.config, { ...ctx, corrections: stages }).energyJ);
  return { ...stages, energy: fitted(ratios.energy) };
}
