import { describe, expect, it } from 'vitest';
import { loadProfile } from '../../../hardware/index.ts';
import { describeSpace, knobsFromProfiles, profileCheck, type SpaceCut } from '../../../pareto/index.ts';

const MB = 2 ** 20;

describe('device profiles as knobs and rules', () => {
  const edge = loadProfile('rpi4');
  const cloud = loadProfile('gpu-server');

  it('takes the edge knobs from the edge profile and the cloud modes from the cloud profile', () => {
    expect(knobsFromProfiles(edge, cloud)).toEqual({
      frequenciesMhz: [600, 800, 1000, 1200, 1400, 1600, 1800], threads: [1, 2, 3, 4],
      accelerators: ['none', 'coral-usb:std', 'coral-usb:max'], cloudModes: ['cpu', 'gpu'],
    });
  });

  it('groups the profile\'s refusals by the limit hit', () => {
    const check = profileCheck(edge);
    const setting = { paramBytes: MB, frequencyMhz: 1200, threads: 2, accelerator: 'coral-usb:max' };
    expect(check(setting)).toEqual({ ok: true });
    expect(check({ ...setting, paramBytes: 40 * MB })).toMatchObject({ ok: false, rule: 'rpi4: head weights over the memory of accelerator coral-usb' });
    expect(check({ ...setting, paramBytes: 40 * MB, accelerator: 'none' })).toEqual({ ok: true });
    expect(check({ ...setting, paramBytes: 4000 * MB, accelerator: 'none' })).toMatchObject({ ok: false, rule: 'rpi4: head weights over 3328 MB of memory (after the reserve)' });
    const offGrid = check({ ...setting, frequencyMhz: 700 });
    expect(offGrid.ok).toBe(false);
    expect(offGrid.ok === false && offGrid.rule).toBeUndefined();
  });

  it('removes TPU configurations whose head does not fit its SRAM', () => {
    const cuts: SpaceCut[] = [
      { name: 'input', shape: [1, 3, 8, 8], paramBytesBefore: 0 },
      { name: 'small', shape: [1, 8, 8, 8], paramBytesBefore: 4 * MB },
      { name: 'large', shape: [1, 8, 8, 8], paramBytesBefore: 64 * MB },
      { name: 'output', shape: [1, 10], paramBytesBefore: 80 * MB },
    ];
    const d = describeSpace(cuts, knobsFromProfiles(edge, cloud), profileCheck(edge));
    // large and output: 7 frequencies x 4 threads x 2 TPU modes, x 5 codecs x 2 cloud modes for large, x 1 for output.
    expect(d.rules.at(-1)).toEqual({ rule: 'rpi4: head weights over the memory of accelerator coral-usb', removed: 56 * 10 + 56 });
  });
});
