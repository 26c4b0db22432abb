/**
 * RAPL energy counters through the Linux powercap sysfs interface (Documentation/power/powercap):
 * `<root>/intel-rapl:N/energy_uj` is a package's cumulative energy in µJ, wrapping to 0 after
 * `max_energy_range_uj`. We read every package zone (`intel-rapl:0`, `intel-rapl:1`, ...; subzones
 * such as `intel-rapl:0:0` (core, uncore, dram) are parts of a package and are skipped, as is the
 * `intel-rapl-mmio` duplicate), take each one's difference across the request and sum them.
 *
 * One wrap between start and stop is corrected (delta += max_energy_range_uj); two cannot be seen,
 * which needs an interval longer than range / power (262 kJ / 200 W = 22 min on common parts).
 * AMD Zen CPUs expose the same files under the same names on Linux 5.8+.
 *
 * The figure is whole-package energy (every process on the machine): `share` scales it to a request.
 * Since Linux 5.10 energy_uj is readable by root only (CVE-2020-8694, "Platypus"), hence the hint.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { shareOf, type EnergyMark, type EnergyMeter, type EnergyReading, type Usage } from './energy.ts';

export interface RaplMeterOptions {
  /** default '/sys/class/powercap' */
  root?: string;
}

export const DEFAULT_POWERCAP_ROOT = '/sys/class/powercap';

interface Zone {
  dir: string;
  /** µJ at which energy_uj wraps to 0 */
  maxRangeUj: number;
}

const PACKAGE_ZONE = /^intel-rapl:\d+$/;

/** A measuring meter over the RAPL package counters; throws a coded error now if they cannot be read. */
export function createRaplMeter(options: RaplMeterOptions = {}): EnergyMeter {
  const root = options.root ?? DEFAULT_POWERCAP_ROOT;
  const zones = findZones(root);
  zones.forEach((zone) => readMicrojoules(join(zone.dir, 'energy_uj')));
  const readAll = (): number[] => zones.map((zone) => readMicrojoules(join(zone.dir, 'energy_uj')));
  return {
    source: 'measured',
    start: (): EnergyMark => ({ at: performance.now(), counters: readAll() }),
    async stop(mark: EnergyMark, usage: Usage): Promise<EnergyReading> {
      const now = readAll();
      const before = mark.counters;
      if (!before || before.length !== zones.length) {
        throw new DynasplitError(ErrorCodes.BAD_ARGS, 'RAPL meter: stop() needs a mark from this meter\'s start()');
      }
      const microjoules = zones.reduce((sum, zone, i) => sum + counterDelta(before[i], now[i], zone.maxRangeUj), 0);
      return { joules: (microjoules / 1e6) * shareOf(usage), source: 'measured' };
    },
    close: async () => {},
  };
}

/** µJ consumed between two readings of a counter that wraps to 0 after maxRangeUj. */
export function counterDelta(beforeUj: number, afterUj: number, maxRangeUj: number): number {
  const delta = afterUj - beforeUj;
  return delta >= 0 ? delta : delta + maxRangeUj;
}

function findZones(root: string): Zone[] {
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch (cause) {
    throw unreadable(root, cause);
  }
  const zones = entries.filter((e) => PACKAGE_ZONE.test(e)).sort(byIndex).map((name) => {
    const dir = join(root, name);
    return { dir, maxRangeUj: readMicrojoules(join(dir, 'max_energy_range_uj')) };
  });
  if (zones.length === 0) {
    throw new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `no RAPL package zones (intel-rapl:N) under ${root}`, { details: { file: root } });
  }
  return zones;
}

const byIndex = (a: string, b: string): number => Number(a.split(':')[1]) - Number(b.split(':')[1]);

function readMicrojoules(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw unreadable(file, cause);
  }
  const value = Number(text.trim());
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new DynasplitError(ErrorCodes.PROVIDER_UNAVAILABLE, `${file}: not a µJ counter: '${text.trim()}'`, { details: { file } });
  }
  return value;
}

function unreadable(file: string, cause: unknown): DynasplitError {
  const code = (cause as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `RAPL: ${file} does not exist (no powercap RAPL on this machine?)`, { cause, details: { file } });
  }
  const hint = code === 'EACCES' || code === 'EPERM' ? ' (energy_uj is root-only since Linux 5.10; run as root or grant read access)' : '';
  return new DynasplitError(ErrorCodes.PROVIDER_UNAVAILABLE, `RAPL: cannot read ${file}: ${code ?? (cause as Error).message}${hint}`,
    { cause, details: { file, errno: code } });
}
