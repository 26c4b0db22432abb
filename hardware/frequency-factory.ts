/**
 * Picks a FrequencyController: sysfs when the cpufreq tree exists and is writable, else the
 * emulated one, and logs why.
 */
import { access, constants, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../common/index.ts';
import { createEmulatedFrequencyController } from './emulated-frequency.ts';
import type { FrequencyController, FrequencyControllerOptions } from './frequency.ts';
import type { DeviceProfile } from './profile.ts';
import { createSysfsFrequencyController, cpufreqDirs, DEFAULT_SYSFS_ROOT } from './sysfs-frequency.ts';

/** sysfs when `<root>/devices/system/cpu/cpu*\/cpufreq` is there and writable, else emulated (and the log says why). */
export async function createFrequencyController(profile: DeviceProfile, options: FrequencyControllerOptions = {}): Promise<FrequencyController> {
  const root = options.sysfsRoot ?? DEFAULT_SYSFS_ROOT;
  const logger = (options.logger ?? silentLogger()).child({ component: 'frequency' });
  const unusable = await sysfsProblem(root);
  if (unusable) {
    logger.info({ root, reason: unusable }, `cpufreq not usable (${unusable}); emulating ${profile.name}'s frequency steps`);
    return createEmulatedFrequencyController(profile.cpu.frequenciesMhz);
  }
  const controller = await createSysfsFrequencyController({ root });
  const missing = profile.cpu.frequenciesMhz.filter((f) => !controller.frequenciesMhz.includes(f));
  if (missing.length) {
    logger.warn({ missing, available: controller.frequenciesMhz }, `profile ${profile.name} lists steps this CPU does not offer`);
  }
  logger.info({ root, frequenciesMhz: controller.frequenciesMhz }, 'controlling the CPU clock through cpufreq sysfs');
  return controller;
}

/** Why the sysfs tree cannot be used, or undefined when it can. */
async function sysfsProblem(root: string): Promise<string | undefined> {
  const dirs = await cpufreqDirs(root).catch(() => []);
  if (dirs.length === 0) return `no ${join(root, 'devices/system/cpu/cpu*/cpufreq')}`;
  for (const dir of dirs) {
    for (const file of ['scaling_governor', 'scaling_setspeed']) {
      const path = join(dir, file);
      const writable = await access(path, constants.R_OK | constants.W_OK).then(() => true, () => false);
      if (!writable) return `${path} is missing or not writable`;
    }
  }
  const governors = await readFile(join(dirs[0], 'scaling_available_governors'), 'utf8').catch(() => undefined);
  if (governors !== undefined && !governors.split(/\s+/).includes('userspace')) {
    return `the userspace governor is not available (${governors.trim()})`;
  }
  return undefined;
}
