/**
 * The modelled energy meter: joules from a device profile's power figures, never from hardware.
 *
 *     J = share * (P_active(setting) * computeMs + P_idle * idleMs) / 1000
 *
 * - P_idle: the board's idle power plus every attached accelerator's idle power (cloud: node idle).
 * - P_active on the CPU with t of n cores busy: P_idle + (P_all(f) - P_idle_board) * t / n, i.e.
 *   each busy core adds an equal slice of the all-cores-busy increment at that frequency (linear
 *   interpolation between idle and all cores active; an estimate: uncore and memory power do not
 *   scale per core).
 * - P_active on an accelerator: the board idle, other accelerators idle, and this accelerator's
 *   mode power (the host CPU feeding it is counted as idle).
 * - Cloud: the mode's node power; `share` is this request's fraction of the node.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import type { DeviceSetting } from './emulation.ts';
import { shareOf, type EnergyMark, type EnergyMeter, type EnergyReading, type Usage } from './energy.ts';
import { resolveAccelerator, resolveCloudMode, type DeviceProfile } from './profile.ts';

export interface ModelledMeterOptions {
  profile: DeviceProfile;
}

/** W with the device on and idle: the board plus the idle draw of its attached accelerators. */
export function idlePowerW(profile: DeviceProfile): number {
  return profile.cpu.idleW + (profile.accelerators ?? []).reduce((sum, a) => sum + a.idleW, 0);
}

/** W while the device computes in `setting` (see the file comment for the model). */
export function activePowerW(profile: DeviceProfile, setting: DeviceSetting = {}): number {
  if (profile.kind === 'cloud') return resolveCloudMode(profile, setting.cloudMode).activeW;
  const accelerators = profile.accelerators ?? [];
  const accel = resolveAccelerator(profile, setting.accelerator);
  if (accel) {
    const othersIdle = accelerators.filter((a) => a !== accel.spec).reduce((sum, a) => sum + a.idleW, 0);
    return profile.cpu.idleW + othersIdle + accel.spec.modes[accel.mode].activeW;
  }
  const cpu = profile.cpu;
  const frequencyMhz = setting.frequencyMhz ?? cpu.frequenciesMhz[cpu.frequenciesMhz.length - 1];
  const allCoresW = cpu.activeW[String(frequencyMhz)];
  if (allCoresW === undefined) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `${frequencyMhz} MHz is not a DVFS step of ${profile.name} (${cpu.frequenciesMhz.join(', ')})`,
      { details: { profile: profile.name, frequencyMhz } });
  }
  const busy = Math.max(1, Math.min(setting.threads ?? cpu.cores, cpu.cores));
  const acceleratorsIdle = accelerators.reduce((sum, a) => sum + a.idleW, 0);
  return cpu.idleW + (allCoresW - cpu.idleW) * (busy / cpu.cores) + acceleratorsIdle;
}

/** Joules the profile predicts for one request's usage. */
export function modelledJoules(profile: DeviceProfile, usage: Usage): number {
  for (const key of ['computeMs', 'idleMs'] as const) {
    const ms = usage[key];
    if (!(Number.isFinite(ms) && ms >= 0)) {
      throw new DynasplitError(ErrorCodes.BAD_ARGS, `usage.${key} must be a non-negative number of ms, got ${ms}`, { details: { [key]: ms } });
    }
  }
  const active = activePowerW(profile, usage);
  // W * ms / 1000 = J
  return shareOf(usage) * (active * usage.computeMs + idlePowerW(profile) * usage.idleMs) / 1000;
}

/** An EnergyMeter whose readings are modelled from `profile`; start/stop only delimit the request. */
export function createModelledMeter(options: ModelledMeterOptions): EnergyMeter {
  const { profile } = options;
  return {
    source: 'modelled',
    start: (): EnergyMark => ({ at: performance.now() }),
    async stop(_mark: EnergyMark, usage: Usage): Promise<EnergyReading> {
      return { joules: modelledJoules(profile, usage), source: 'modelled' };
    },
    close: async () => {},
  };
}
