/**
 * The FrequencyController contract: set the edge CPU's clock to one of its DVFS steps. Two
 * implementations: `sysfs-frequency.ts` (Linux cpufreq, userspace governor: real) and
 * `emulated-frequency.ts` (records the setting; compute time is then dilated by emulation.ts);
 * `frequency-factory.ts` picks one. Types only, so the implementations import it without a cycle.
 */
import type { Logger } from '../common/index.ts';

export interface FrequencyController {
  /** sysfs: the clock really changes; emulated: only recorded (figures must say 'emulated'). */
  readonly kind: 'sysfs' | 'emulated';
  /** Settable steps, MHz, ascending. */
  readonly frequenciesMhz: number[];
  /** MHz now. */
  current(): number;
  /** Sets every CPU to `mhz` (one of frequenciesMhz, else DYNASPLIT_ERR_BAD_ARGS); tookMs: how long it took. */
  set(mhz: number): Promise<{ tookMs: number }>;
  /** Puts back what was there before the first set (the original governor). */
  restore(): Promise<void>;
}

export interface FrequencyControllerOptions {
  /** Root of the sysfs tree; default '/sys'. Tests point it at a fixture tree. */
  sysfsRoot?: string;
  logger?: Logger;
}
