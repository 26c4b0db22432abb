/**
 * The EnergyMeter contract: joules for one request, with the source of the figure. Implementations:
 * `rapl-meter.ts` (Intel/AMD RAPL powercap counters: measured), `mqtt-power-meter.ts` (a smart plug
 * publishing watts over MQTT: measured) and `modelled-meter.ts` (a device profile's power figures:
 * modelled); `energy-factory.ts` picks one. A modelled joule is never reported as a measured one: every reading carries `source`.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';

/** measured: read from hardware; emulated: a device's behaviour reproduced on this host (time dilation); modelled: computed from a profile. */
export type FigureSource = 'measured' | 'emulated' | 'modelled';

/** What the request did between start and stop; the modelled meter needs it, measuring meters use `share`. */
export interface Usage {
  /** ms spent computing. */
  computeMs: number;
  /** ms the device waited (network, the other side) while the request held it. */
  idleMs: number;
  /** Edge CPU frequency, MHz; default the profile's highest step. */
  frequencyMhz?: number;
  /** Intra-op threads; default all cores. */
  threads?: number;
  /** Accelerator knob ('none', 'coral-usb:max', ...). */
  accelerator?: string;
  /** Cloud mode ('cpu', 'gpu'). */
  cloudMode?: string;
  /** 0..1: this request's share of the node (a cloud node serving several requests at once); default 1. */
  share?: number;
}

export interface EnergyReading {
  joules: number;
  source: FigureSource;
}

/** Opaque start-of-interval state a meter hands back to itself in stop(). */
export interface EnergyMark {
  /** ms, performance.now() when the mark was taken. */
  readonly at: number;
  /** Meter-specific counters (RAPL: energy_uj per package). */
  readonly counters?: readonly number[];
}

export interface EnergyMeter {
  readonly source: FigureSource;
  start(): EnergyMark;
  /** Joules between the mark and now, times usage.share when given. */
  stop(mark: EnergyMark, usage: Usage): Promise<EnergyReading>;
  close(): Promise<void>;
}

export type EnergyMeterKind = 'rapl' | 'mqtt' | 'modelled';

/** Checks and returns a share in [0, 1] (default 1); shared by every meter. */
export function shareOf(usage: Pick<Usage, 'share'>): number {
  const share = usage.share ?? 1;
  if (!(share >= 0 && share <= 1)) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `usage.share must be in [0, 1], got ${share}`, { details: { share } });
  }
  return share;
}
