/**
 * Linux cpufreq through sysfs (Documentation/admin-guide/pm/cpufreq.rst): under
 * `<root>/devices/system/cpu/cpuN/cpufreq/`, `scaling_available_frequencies` lists the steps in kHz;
 * with the `userspace` governor, writing kHz to `scaling_setspeed` sets the clock. On first set() we
 * remember each CPU's governor and switch it to userspace; restore() puts the originals back.
 *
 * Profiles speak whole MHz; a step such as 307200 kHz (Tegra X1) is offered as 307 MHz and written
 * back as exactly 307200. Writing needs root (or a udev rule granting the files).
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import type { FrequencyController } from './frequency.ts';

export const DEFAULT_SYSFS_ROOT = '/sys';

export interface SysfsFrequencyOptions {
  /** default '/sys' */
  root?: string;
}

/** `<root>/devices/system/cpu/cpuN/cpufreq` directories, in CPU order. */
export async function cpufreqDirs(root: string): Promise<string[]> {
  const cpuRoot = join(root, 'devices/system/cpu');
  const cpus = (await readdir(cpuRoot)).filter((e) => /^cpu\d+$/.test(e)).sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
  const dirs: string[] = [];
  for (const cpu of cpus) {
    const dir = join(cpuRoot, cpu, 'cpufreq');
    if (await stat(dir).then((s) => s.isDirectory(), () => false)) dirs.push(dir);
  }
  return dirs;
}

export async function createSysfsFrequencyController(options: SysfsFrequencyOptions = {}): Promise<FrequencyController> {
  const root = options.root ?? DEFAULT_SYSFS_ROOT;
  const dirs = await cpufreqDirs(root).catch(() => []);
  if (dirs.length === 0) {
    throw new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `no cpufreq directories under ${join(root, 'devices/system/cpu')}`, { details: { file: root } });
  }
  const steps = await availableSteps(dirs);
  const frequenciesMhz = [...steps.keys()].sort((a, b) => a - b);
  /** CPU dir -> governor (and userspace speed, kHz) before our first set */
  const originals = new Map<string, { governor: string; speedKhz?: string }>();

  return {
    kind: 'sysfs',
    frequenciesMhz,
    current: () => Math.round(Number(readFileSync(join(dirs[0], 'scaling_cur_freq'), 'utf8').trim()) / 1000),
    async set(mhz: number) {
      const khz = steps.get(mhz);
      if (khz === undefined) {
        throw new DynasplitError(ErrorCodes.BAD_ARGS, `${mhz} MHz is not a cpufreq step here (${frequenciesMhz.join(', ')} MHz)`,
          { details: { frequencyMhz: mhz } });
      }
      const t0 = performance.now();
      for (const dir of dirs) {
        if (!originals.has(dir)) originals.set(dir, await takeOver(dir));
        await write(join(dir, 'scaling_setspeed'), String(khz));
      }
      return { tookMs: performance.now() - t0 };
    },
    async restore() {
      for (const [dir, original] of originals) {
        await write(join(dir, 'scaling_governor'), original.governor);
        if (original.speedKhz) await write(join(dir, 'scaling_setspeed'), original.speedKhz);
      }
      originals.clear();
    },
  };
}

/** Remembers the CPU's governor and switches it to userspace. */
async function takeOver(dir: string): Promise<{ governor: string; speedKhz?: string }> {
  const governor = (await read(join(dir, 'scaling_governor'))).trim();
  if (governor === 'userspace') return { governor, speedKhz: (await read(join(dir, 'scaling_setspeed'))).trim() };
  await write(join(dir, 'scaling_governor'), 'userspace');
  return { governor };
}

/** MHz -> kHz of the steps every CPU offers (the lists are per policy; usually all equal). */
async function availableSteps(dirs: string[]): Promise<Map<number, number>> {
  let common: number[] | undefined;
  for (const dir of dirs) {
    const khz = await stepsOf(dir);
    common = common === undefined ? khz : common.filter((k) => khz.includes(k));
  }
  return new Map((common ?? []).map((k) => [Math.round(k / 1000), k]));
}

/** scaling_available_frequencies (kHz), or [cpuinfo_min_freq, cpuinfo_max_freq] where a driver lists none. */
async function stepsOf(dir: string): Promise<number[]> {
  const listed = await readFile(join(dir, 'scaling_available_frequencies'), 'utf8').catch(() => undefined);
  const text = listed ?? `${await read(join(dir, 'cpuinfo_min_freq'))} ${await read(join(dir, 'cpuinfo_max_freq'))}`;
  const khz = text.trim().split(/\s+/).map(Number);
  if (khz.some((k) => !Number.isInteger(k) || k <= 0)) {
    throw new DynasplitError(ErrorCodes.PROVIDER_UNAVAILABLE, `${dir}: cannot parse the available frequencies '${text.trim()}'`, { details: { file: dir } });
  }
  return [...new Set(khz)];
}

async function read(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    throw sysfsError('read', file, cause);
  }
}

async function write(file: string, value: string): Promise<void> {
  try {
    await writeFile(file, value);
  } catch (cause) {
    throw sysfsError('write', file, cause);
  }
}

function sysfsError(op: string, file: string, cause: unknown): DynasplitError {
  const code = (cause as NodeJS.ErrnoException).code;
  const hint = code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? ': permission denied (cpufreq needs root or a udev rule)' : `: ${code ?? (cause as Error).message}`;
  return new DynasplitError(ErrorCodes.PROVIDER_UNAVAILABLE, `cpufreq: cannot ${op} ${file}${hint}`, { cause, details: { file, errno: code } });
}
