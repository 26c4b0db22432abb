/**
 * The hardware side of one node, as the edge node and cloud worker use it: the device profile it
 * runs as, the host it really runs on, the frequency control, the energy meter, and time dilation.
 *
 * With profile 'host' the node is itself: compute times are measured, energy is modelled from the
 * calibrated host profile (or metered). With another profile the node emulates that device: compute
 * times are dilated to the device's (the node sleeps the difference, so every latency downstream is
 * the device's) and say 'emulated'; energy comes from the device's profile ('modelled') unless a real
 * meter is configured.
 */
import { DynasplitError, ErrorCodes, silentLogger, type Logger } from '../common/index.ts';
import { calibrateHost } from './calibrate.ts';
import { deviceComputeMs, dilation, emulationDelayMs, type DilationSetting } from './emulation.ts';
import type { EnergyMeter, EnergyMeterKind, FigureSource } from './energy.ts';
import { createEnergyMeter } from './energy-factory.ts';
import { createFrequencyController } from './frequency-factory.ts';
import type { FrequencyController } from './frequency.ts';
import type { DeviceProfile } from './profile.ts';
import { loadProfile } from './profile-load.ts';

export const HOST_PROFILE = 'host';

export interface NodeHardwareOptions {
  /** Device profile name or JSON path; 'host' = this machine as it is (calibrated). */
  profile: string;
  /** How energy is known; default 'modelled' (from the profile). */
  energyMeter?: EnergyMeterKind;
  /** MQTT power meter: broker URL and topic of the smart plug. */
  powerMeterUrl?: string;
  powerMeterTopic?: string;
  /** Root of the cpufreq tree; default /sys. */
  sysfsRoot?: string;
  /** A calibrated host profile to reuse (calibration takes ~1.5 s; one per process is enough). */
  host?: DeviceProfile;
  logger?: Logger;
}

export interface NodeHardware {
  readonly profile: DeviceProfile;
  readonly host: DeviceProfile;
  /** True when the node emulates another device (compute times dilated). */
  readonly emulated: boolean;
  readonly latencySource: FigureSource;
  readonly frequency: FrequencyController;
  readonly meter: EnergyMeter;
  /** Applies a CPU frequency (MHz; 0 = leave as is); returns ms it took, 0 when unchanged. */
  applyFrequency(mhz: number): Promise<number>;
  /**
   * After a part of `flops` FLOPs computed in `hostMs` on the host, waits until the device's time has
   * passed (when emulating) and returns the device's compute time (= hostMs when not emulating).
   */
  dilate(hostMs: number, setting: DilationSetting, flops?: number): Promise<number>;
  close(): Promise<void>;
}

let hostCalibration: Promise<DeviceProfile> | undefined;

/** The host profile, calibrated once per process. */
export function processHost(): Promise<DeviceProfile> {
  hostCalibration ??= calibrateHost();
  return hostCalibration;
}

/** A profile by name or file, `host` being this machine as calibrated (as the nodes use it). */
export async function profileByName(name: string): Promise<DeviceProfile> {
  return name === HOST_PROFILE ? processHost() : loadProfile(name);
}

export async function startNodeHardware(options: NodeHardwareOptions): Promise<NodeHardware> {
  const logger = (options.logger ?? silentLogger()).child({ component: 'hardware' });
  const host = options.host ?? await processHost();
  const emulated = options.profile !== HOST_PROFILE;
  if (emulated && (options.energyMeter ?? 'modelled') !== 'modelled') {
    // A real meter would measure this machine, not the emulated device: the figure would lie.
    throw new DynasplitError(ErrorCodes.BAD_ARGS,
      `energy meter '${options.energyMeter}' measures this machine; an emulated ${options.profile} can only have modelled energy`);
  }
  const profile = emulated ? loadProfile(options.profile) : host;
  const frequency = await createFrequencyController(profile, { sysfsRoot: options.sysfsRoot, logger });
  const meter = await meterFor(options, profile, logger);
  logger.info({ profile: profile.name, emulated, frequency: frequency.kind, energy: meter.source }, emulated
    ? `emulating ${profile.name}: compute times dilated to the device's, energy ${meter.source}`
    : `running as this host: compute times measured, energy ${meter.source}`);
  return {
    profile,
    host,
    emulated,
    latencySource: emulated ? 'emulated' : 'measured',
    frequency,
    meter,
    async applyFrequency(mhz) {
      if (!mhz || mhz === frequency.current()) return 0;
      return (await frequency.set(mhz)).tookMs;
    },
    async dilate(hostMs, setting, flops) {
      if (!emulated) return hostMs;
      const deviceMs = flops === undefined ? hostMs * dilation(host, profile, setting) : deviceComputeMs(hostMs, flops, host, profile, setting);
      const delay = emulationDelayMs(hostMs, deviceMs);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      return deviceMs;
    },
    async close() {
      await frequency.restore();
      await meter.close();
    },
  };
}

function meterFor(options: NodeHardwareOptions, profile: DeviceProfile, logger: Logger): Promise<EnergyMeter> {
  switch (options.energyMeter ?? 'modelled') {
    case 'rapl':
      return createEnergyMeter('rapl', {});
    case 'mqtt':
      return createEnergyMeter('mqtt', { url: options.powerMeterUrl ?? '', topic: options.powerMeterTopic ?? '', logger });
    default:
      return createEnergyMeter('modelled', { profile });
  }
}
