/**
 * Thin adapter from hardware/ device profiles to the space's own interfaces: the knobs an edge and a
 * cloud profile offer, and the edge profile's rules (memory after the reserve, accelerator memory,
 * DVFS steps, cores) as a ValidityCheck. The space code itself never imports hardware/.
 */
import { profileKnobs, validConfiguration, type DeviceProfile } from '../hardware/index.ts';
import type { KnobSet, ValidityCheck } from './space.ts';

/**
 * Frequencies, threads and accelerator modes of the edge; cloud modes of the cloud node. A cloud node
 * without modes (a calibrated host) runs one way: '' is the worker's default (schemas/pipeline.proto).
 */
export function knobsFromProfiles(edge: DeviceProfile, cloud: DeviceProfile): KnobSet {
  const { frequenciesMhz, threads, accelerators } = profileKnobs(edge);
  const cloudModes = profileKnobs(cloud).cloudModes;
  return { frequenciesMhz, threads, accelerators, cloudModes: cloudModes.length > 0 ? cloudModes : [''] };
}

/**
 * The edge profile's validConfiguration as a ValidityCheck. Its reasons carry per-cut figures, so
 * removals are grouped by what failed: the setting itself, main memory, or the accelerator's memory.
 */
export function profileCheck(edge: DeviceProfile): ValidityCheck {
  const memoryMb = edge.memoryMb - edge.reserveMb;
  return ({ paramBytes, frequencyMhz, threads, accelerator }) => {
    const verdict = validConfiguration(edge, { paramBytes, frequencyMhz, threads, accelerator });
    if (verdict.ok) return verdict;
    // Probe without weights, then on the CPU alone, to tell which limit was hit.
    if (!validConfiguration(edge, { paramBytes: 0, frequencyMhz, threads, accelerator }).ok) return verdict;
    const onCpu = validConfiguration(edge, { paramBytes, frequencyMhz, threads, accelerator: 'none' }).ok;
    const rule = onCpu
      ? `${edge.name}: head weights over the memory of accelerator ${accelerator.split(':')[0]}`
      : `${edge.name}: head weights over ${memoryMb} MB of memory (after the reserve)`;
    return { ...verdict, rule };
  };
}
