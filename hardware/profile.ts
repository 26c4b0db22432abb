/**
 * Device profiles: what a device can be set to (its knobs) and how fast and power-hungry it is at each
 * setting. Profiles are data (`hardware/profiles/*.json`) with every figure's source cited inside, so
 * a modelled or emulated number can always be traced to a datasheet, a published measurement, or an
 * estimate that says it is one. The `host` profile is not a file: `calibrateHost()` measures it.
 *
 * Units: memory in MB (2^20 bytes), frequency in MHz, power in W, throughput in GFLOP/s (10^9
 * floating-point operations per second, a multiply-add counted as 2, as model/flops.ts counts them).
 *
 * This file is the contract (types and pure functions of a profile); `profile-load.ts` reads and
 * validates profile files (`profile-validate.ts`), so neither imports the other in a cycle.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';

export type DeviceKind = 'edge' | 'cloud';

export interface CpuSpec {
  cores: number;
  /** DVFS steps, MHz, ascending: the values a FrequencyController may set. */
  frequenciesMhz: number[];
  /** Effective fp32 CNN inference throughput of one core at 1 GHz, GFLOP/s per GHz. */
  gflopsPerCorePerGhz: number;
  /** Amdahl parallel fraction (0..1) of CNN inference across intra-op threads; see emulation.ts. */
  parallelFraction: number;
  /** W, the whole board or node idle (accelerators' own idle power is listed with them). */
  idleW: number;
  /** MHz (as a string key) -> W, the whole board with every core busy at that frequency. */
  activeW: Record<string, number>;
}

export interface AcceleratorMode {
  /** Effective GFLOP/s on the part of the model the accelerator runs. */
  gflops: number;
  /** W the accelerator draws while it computes (replaces its idleW; the board stays at its idle). */
  activeW: number;
}

export interface AcceleratorSpec {
  name: string;
  description: string;
  /** Bytes the accelerator stores per weight: 1 for int8, 2 for fp16, 4 for fp32. */
  bytesPerParam: number;
  /** Bytes of weights the accelerator can hold for the part it runs (e.g. a USB TPU's 8 MB SRAM). */
  maxParamBytes: number;
  /** W drawn while attached and idle. */
  idleW: number;
  /** Mode name -> speed and power, e.g. a USB TPU's `std` and `max` clocks. */
  modes: Record<string, AcceleratorMode>;
}

export interface CloudMode {
  /** Effective GFLOP/s of the node in this mode for one request's part. */
  gflops: number;
  /** W, the whole node while it computes in this mode. */
  activeW: number;
  /** Bytes of fp32 weights this mode can hold (a GPU's memory); default: the node's memory. */
  maxParamBytes?: number;
}

export interface DeviceProfile {
  name: string;
  kind: DeviceKind;
  description: string;
  /** MB of main memory. */
  memoryMb: number;
  /** MB kept for the OS and runtime: a part's weights must fit in memoryMb - reserveMb. */
  reserveMb: number;
  cpu: CpuSpec;
  /** Attached accelerators (edge); their idle power counts whenever the device is on. */
  accelerators?: AcceleratorSpec[];
  /** Cloud: mode name ('cpu', 'gpu') -> speed and node power. */
  modes?: Record<string, CloudMode>;
  /** Figure (a dotted path such as `cpu.idleW`) -> citation; an estimate says so. */
  sources: Record<string, string>;
  /** What a calibration measured, for profiles made by calibrateHost(). */
  calibration?: Record<string, number | string>;
}

/** The accelerator knob's value for CPU-only execution. */
export const NO_ACCELERATOR = 'none';

export interface ProfileKnobs {
  frequenciesMhz: number[];
  /** 1..cores */
  threads: number[];
  /** 'none' plus every accelerator mode as 'accelerator:mode' (e.g. 'coral-usb:max'). */
  accelerators: string[];
  /** Cloud modes ('cpu', 'gpu'); empty for an edge device. */
  cloudModes: string[];
}

/** The settings a profile offers: the search space's hardware axes for this device. */
export function profileKnobs(profile: DeviceProfile): ProfileKnobs {
  const accelerators = (profile.accelerators ?? []).flatMap((a) => Object.keys(a.modes).map((m) => `${a.name}:${m}`));
  return {
    frequenciesMhz: [...profile.cpu.frequenciesMhz],
    threads: Array.from({ length: profile.cpu.cores }, (_, i) => i + 1),
    accelerators: [NO_ACCELERATOR, ...accelerators],
    cloudModes: Object.keys(profile.modes ?? {}),
  };
}

/**
 * The accelerator and mode an accelerator knob names: 'coral-usb:max', or a bare mode ('max') when
 * exactly one attached accelerator has it. undefined for 'none', '' or undefined (CPU).
 */
export function resolveAccelerator(profile: DeviceProfile, id: string | undefined): { spec: AcceleratorSpec; mode: string } | undefined {
  if (!id || id === NO_ACCELERATOR) return undefined;
  const [name, mode] = id.includes(':') ? id.split(':', 2) : [undefined, id];
  const matches = (profile.accelerators ?? []).filter((a) => (name === undefined || a.name === name) && mode in a.modes);
  if (matches.length !== 1) {
    const known = profileKnobs(profile).accelerators.join(', ');
    throw new DynasplitError(ErrorCodes.BAD_ARGS,
      `profile '${profile.name}': ${matches.length ? 'ambiguous' : 'unknown'} accelerator '${id}'; known: ${known}`,
      { details: { profile: profile.name, accelerator: id } });
  }
  return { spec: matches[0], mode };
}

/** The cloud mode a knob names; 'cpu' when none is given. Throws BAD_ARGS for an unknown mode. */
export function resolveCloudMode(profile: DeviceProfile, mode: string | undefined): CloudMode {
  const name = mode || 'cpu';
  const found = profile.modes?.[name];
  if (!found) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS,
      `profile '${profile.name}': unknown cloud mode '${name}'; known: ${Object.keys(profile.modes ?? {}).join(', ') || '(none)'}`,
      { details: { profile: profile.name, cloudMode: name } });
  }
  return found;
}

export interface PartPlacement {
  /** fp32 weight bytes of the part the device runs (model/inspect's paramBytesBefore/After). */
  paramBytes: number;
  /** Peak activation bytes of the part, when known; counted against main memory. */
  activationBytes?: number;
  /** Edge: must be one of the profile's steps. Ignored for a cloud profile. */
  frequencyMhz?: number;
  /** Edge: 1..cores. Ignored for a cloud profile. */
  threads?: number;
  /** 'none' / '' / undefined for CPU, else an accelerator knob value. */
  accelerator?: string;
  /** Cloud: 'cpu' (default) or another mode of the profile. */
  cloudMode?: string;
}

export type Validity = { ok: true } | { ok: false; reason: string };

/**
 * Whether the device can run a part with these settings: known frequency and thread count, a part
 * whose weights fit the memory left after the reserve, and, on an accelerator, weights that fit what
 * the accelerator holds (a USB TPU runs a part only when its int8 weights fit its on-chip SRAM).
 */
export function validConfiguration(profile: DeviceProfile, part: PartPlacement): Validity {
  const MB = 2 ** 20;
  const cpu = profile.cpu;
  if (profile.kind === 'edge') {
    if (part.frequencyMhz !== undefined && !cpu.frequenciesMhz.includes(part.frequencyMhz)) {
      return { ok: false, reason: `${part.frequencyMhz} MHz is not a DVFS step of ${profile.name} (${cpu.frequenciesMhz.join(', ')})` };
    }
    if (part.threads !== undefined && !(Number.isInteger(part.threads) && part.threads >= 1 && part.threads <= cpu.cores)) {
      return { ok: false, reason: `${part.threads} threads: ${profile.name} has ${cpu.cores} cores (1..${cpu.cores})` };
    }
  }
  const memoryBytes = (profile.memoryMb - profile.reserveMb) * MB;
  const needed = part.paramBytes + (part.activationBytes ?? 0);
  if (needed > memoryBytes) {
    return { ok: false, reason: `the part needs ${mb(needed)} MB but ${profile.name} has ${mb(memoryBytes)} MB after its ${profile.reserveMb} MB reserve` };
  }
  return profile.kind === 'cloud' ? cloudFits(profile, part) : acceleratorFits(profile, part);
}

function acceleratorFits(profile: DeviceProfile, part: PartPlacement): Validity {
  let accel: ReturnType<typeof resolveAccelerator>;
  try {
    accel = resolveAccelerator(profile, part.accelerator);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  if (!accel) return { ok: true };
  // paramBytes counts fp32 weights (4 bytes each); the accelerator stores bytesPerParam per weight.
  const stored = (part.paramBytes / 4) * accel.spec.bytesPerParam;
  if (stored > accel.spec.maxParamBytes) {
    return { ok: false, reason: `${accel.spec.name} holds ${mb(accel.spec.maxParamBytes)} MB of weights; the part needs ${mb(stored)} MB` };
  }
  return { ok: true };
}

function cloudFits(profile: DeviceProfile, part: PartPlacement): Validity {
  let mode: CloudMode;
  try {
    mode = resolveCloudMode(profile, part.cloudMode);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  if (mode.maxParamBytes !== undefined && part.paramBytes > mode.maxParamBytes) {
    return { ok: false, reason: `cloud mode '${part.cloudMode ?? 'cpu'}' holds ${mb(mode.maxParamBytes)} MB of weights; the part needs ${mb(part.paramBytes)} MB` };
  }
  return { ok: true };
}

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
