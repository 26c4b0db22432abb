/**
 * The emulated clock: where cpufreq is not available (this machine, a container, a VM), the setting
 * is recorded and nothing else changes; the compute time measured at the host's own clock is then
 * dilated to the device's speed at this frequency (emulation.ts), and figures say 'emulated'.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import type { FrequencyController } from './frequency.ts';

/** @param initialMhz the clock reported before any set; default the highest step */
export function createEmulatedFrequencyController(frequenciesMhz: number[], initialMhz?: number): FrequencyController {
  const steps = [...frequenciesMhz].sort((a, b) => a - b);
  if (steps.length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'an emulated clock needs at least one frequency step');
  const initial = initialMhz ?? steps[steps.length - 1];
  let current = initial;
  return {
    kind: 'emulated',
    frequenciesMhz: steps,
    current: () => current,
    async set(mhz: number) {
      const t0 = performance.now();
      if (!steps.includes(mhz)) {
        throw new DynasplitError(ErrorCodes.BAD_ARGS, `${mhz} MHz is not a frequency step (${steps.join(', ')} MHz)`, { details: { frequencyMhz: mhz } });
      }
      current = mhz;
      return { tookMs: performance.now() - t0 };
    },
    async restore() {
      current = initial;
    },
  };
}
