/**
 * Emulated compute time by time dilation. A part measured on the host (this machine) takes
 * `hostMs`; on the emulated device it would take
 *
 *     deviceMs = hostMs * dilation,   dilation = G_host(threads_host) / G_device(setting)
 *
 * where G is effective GFLOP/s. The edge node sleeps `deviceMs - hostMs` so the observed latency is
 * the device's; a dilation below 1 (a device faster than the host) cannot be slept away, so the
 * figure is then reported as computed (source 'emulated'), never as observed.
 *
 * CPU throughput: G(f, t) = gflopsPerCorePerGhz * f[GHz] * S(t), with Amdahl's speedup
 * S(t) = 1 / ((1 - p) + p / t) for the profile's parallel fraction p (0.9 for the Pi-class boards:
 * 3.1x on 4 threads). Throughput is taken as proportional to the clock: CNN kernels are
 * compute-bound, so memory stalls (which do not shrink with the clock) are ignored; an estimate.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { resolveAccelerator, resolveCloudMode, type CpuSpec, type DeviceProfile } from './profile.ts';

export interface DeviceSetting {
  /** MHz; default the device's highest step. Edge CPU only. */
  frequencyMhz?: number;
  /** Intra-op threads, 1..cores; default all cores. Edge CPU only. */
  threads?: number;
  /** 'none' / '' / undefined = CPU; else an accelerator knob ('coral-usb:max'). Edge only. */
  accelerator?: string;
  /** Cloud: 'cpu' (default) or 'gpu'. */
  cloudMode?: string;
}

export interface DilationSetting extends DeviceSetting {
  /** Threads the host session ran with; default `threads`, else all host cores. */
  hostThreads?: number;
}

/** Amdahl's law: the speedup of `threads` threads when a fraction p of the work runs in parallel. */
export function amdahlSpeedup(threads: number, parallelFraction: number): number {
  return 1 / ((1 - parallelFraction) + parallelFraction / threads);
}

/** Effective GFLOP/s of a CPU at `frequencyMhz` with `threads` threads (clamped to its cores). */
export function cpuGflops(cpu: CpuSpec, frequencyMhz: number, threads: number): number {
  const t = Math.max(1, Math.min(threads, cpu.cores));
  return cpu.gflopsPerCorePerGhz * (frequencyMhz / 1000) * amdahlSpeedup(t, cpu.parallelFraction);
}

/** Effective GFLOP/s of a device in a setting; throws BAD_ARGS for a setting the profile lacks. */
export function deviceGflops(device: DeviceProfile, setting: DeviceSetting = {}): number {
  if (device.kind === 'cloud') return resolveCloudMode(device, setting.cloudMode).gflops;
  const accel = resolveAccelerator(device, setting.accelerator);
  if (accel) return accel.spec.modes[accel.mode].gflops;
  const cpu = device.cpu;
  const frequencyMhz = setting.frequencyMhz ?? cpu.frequenciesMhz[cpu.frequenciesMhz.length - 1];
  if (!cpu.frequenciesMhz.includes(frequencyMhz)) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `${frequencyMhz} MHz is not a DVFS step of ${device.name} (${cpu.frequenciesMhz.join(', ')})`,
      { details: { profile: device.name, frequencyMhz } });
  }
  const threads = setting.threads ?? cpu.cores;
  if (!Number.isInteger(threads) || threads < 1 || threads > cpu.cores) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `${threads} threads: ${device.name} has ${cpu.cores} cores`,
      { details: { profile: device.name, threads } });
  }
  return cpuGflops(cpu, frequencyMhz, threads);
}

/** The host's effective GFLOP/s with `threads` threads, at its own (highest listed) clock. */
export function hostGflops(host: DeviceProfile, threads = host.cpu.cores): number {
  const cpu = host.cpu;
  return cpuGflops(cpu, cpu.frequenciesMhz[cpu.frequenciesMhz.length - 1], threads);
}

/** The factor turning a compute time measured on `host` into `device`'s time in `setting` (> 1: slower). */
export function dilation(host: DeviceProfile, device: DeviceProfile, setting: DilationSetting = {}): number {
  const hostThreads = setting.hostThreads ?? setting.threads ?? host.cpu.cores;
  return hostGflops(host, hostThreads) / deviceGflops(device, setting);
}

/** ms the device would take for a part the host computed in `hostMs`. */
export function emulatedComputeMs(hostMs: number, host: DeviceProfile, device: DeviceProfile, setting: DilationSetting = {}): number {
  return hostMs * dilation(host, device, setting);
}

/**
 * ms the device takes for a part of `flops` FLOPs that the host computed in `hostMs`: the FLOPs at the
 * device's effective throughput, plus, for a device slower than the host, the host's time beyond its
 * own throughput model (per-operator overhead, memory stalls, jitter), unscaled: dilating it would
 * multiply the overhead a tiny model is made of tens of times over, and the slower device has at
 * least the host's. A faster device (a GPU server, a USB TPU) gets none of it: its profile's effective
 * throughput already holds its own overheads, and a 2-core VM's stalls say nothing about them (kept,
 * they made an emulated GPU server's energy swing by a quarter between runs of one configuration).
 */
export function deviceComputeMs(hostMs: number, flops: number, host: DeviceProfile, device: DeviceProfile, setting: DilationSetting = {}): number {
  const hostModelMs = predictedComputeMs(flops, host, { threads: setting.hostThreads });
  const excess = Math.max(0, hostMs - hostModelMs);
  return predictedComputeMs(flops, device, setting) + (dilation(host, device, setting) >= 1 ? excess : 0);
}

/** ms to sleep after the host's compute so the observed time is the emulated one (0 when the device is faster). */
export function emulationDelayMs(hostMs: number, emulatedMs: number): number {
  return Math.max(0, emulatedMs - hostMs);
}

/** ms a part of `flops` FLOPs takes on the device in a setting, from its profile alone (a model). */
export function predictedComputeMs(flops: number, device: DeviceProfile, setting: DeviceSetting = {}): number {
  // FLOPs / (GFLOP/s * 1e9) s = FLOPs / (GFLOP/s * 1e6) ms
  return flops / (deviceGflops(device, setting) * 1e6);
}
