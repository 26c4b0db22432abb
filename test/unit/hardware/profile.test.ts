import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isDynasplitError, type DynasplitError } from '../../../common/index.ts';
import { listProfiles, loadProfile, profileByName, profileKnobs, resolveAccelerator, validConfiguration, type DeviceProfile } from '../../../hardware/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'dynasplit-profiles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MB = 2 ** 20;
/** A profile as JSON.parse returns it, edited freely by the cases below. */
type Json = ReturnType<typeof JSON.parse>;

/** Writes rpi4's JSON with `edit` applied and returns the error loading it throws. */
function loadEdited(name: string, edit: (p: Json) => void): DynasplitError {
  const profile = JSON.parse(JSON.stringify(loadProfile('rpi4')));
  edit(profile);
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(profile));
  try {
    loadProfile(file);
  } catch (err) {
    if (isDynasplitError(err)) return err;
    throw err;
  }
  throw new Error(`${name}: loadProfile accepted the edited profile`);
}

describe('built-in profiles', () => {
  it('lists rpi4, an extra edge board and the gpu server', () => {
    expect(listProfiles()).toEqual(expect.arrayContaining(['rpi4', 'jetson-nano', 'gpu-server']));
  });

  it.each(listProfiles())('%s loads, validates and cites its figures', (name) => {
    const p = loadProfile(name);
    expect(p.name).toBe(name);
    expect(p.cpu.frequenciesMhz.length).toBeGreaterThan(0);
    for (const f of p.cpu.frequenciesMhz) expect(p.cpu.activeW[String(f)]).toBeGreaterThanOrEqual(p.cpu.idleW);
    expect(Object.keys(p.sources).length).toBeGreaterThan(5);
    // Loading its own JSON back through a path gives the same profile.
    const file = join(dir, `copy-${name}.json`);
    writeFileSync(file, JSON.stringify(p));
    expect(loadProfile(file)).toEqual(p);
  });

  it('rpi4: 4 cores, 600-1800 MHz in 200 MHz steps, power rising to 6.4 W, a Coral USB TPU with std and max', () => {
    const p = loadProfile('rpi4');
    expect(p.kind).toBe('edge');
    expect(p.cpu.cores).toBe(4);
    expect(p.memoryMb).toBe(4096);
    expect(p.cpu.frequenciesMhz).toEqual([600, 800, 1000, 1200, 1400, 1600, 1800]);
    const watts = p.cpu.frequenciesMhz.map((f) => p.cpu.activeW[String(f)]);
    expect(watts).toEqual([...watts].sort((a, b) => a - b));
    expect(watts.at(-1)).toBe(6.4);
    expect(p.cpu.idleW).toBe(2.7);
    const tpu = p.accelerators![0];
    expect(tpu.name).toBe('coral-usb');
    expect(Object.keys(tpu.modes)).toEqual(['std', 'max']);
    expect(tpu.maxParamBytes).toBe(8 * MB);
    expect(tpu.modes.max.gflops).toBeGreaterThan(tpu.modes.std.gflops);
    expect(p.sources['cpu.gflopsPerCorePerGhz']).toMatch(/estimate/);
  });

  it('gpu-server: a cloud node with cpu and gpu modes', () => {
    const p = loadProfile('gpu-server');
    expect(p.kind).toBe('cloud');
    expect(Object.keys(p.modes!)).toEqual(['cpu', 'gpu']);
    expect(p.modes!.gpu.gflops).toBeGreaterThan(p.modes!.cpu.gflops);
  });
});

describe('loadProfile errors', () => {
  const cases: [string, (p: Json) => void, string][] = [
    ['kind', (p) => { p.kind = 'fog'; }, 'kind'],
    ['cores', (p) => { p.cpu.cores = 0; }, 'cpu.cores'],
    ['freq-order', (p) => { p.cpu.frequenciesMhz = [800, 600]; }, 'cpu.frequenciesMhz[1]'],
    ['freq-type', (p) => { p.cpu.frequenciesMhz[2] = '1000'; }, 'cpu.frequenciesMhz[2]'],
    ['active-missing', (p) => { delete p.cpu.activeW['1400']; }, 'cpu.activeW.1400'],
    ['active-below-idle', (p) => { p.cpu.activeW['600'] = 1; }, 'cpu.activeW.600'],
    ['parallel', (p) => { p.cpu.parallelFraction = 1.5; }, 'cpu.parallelFraction'],
    ['typo', (p) => { p.cpu.idleWatts = 3; }, 'cpu.idleWatts'],
    ['reserve', (p) => { p.reserveMb = 5000; }, 'reserveMb'],
    ['accel-mode', (p) => { p.accelerators[0].modes.max.gflops = -1; }, 'accelerators[0].modes.max.gflops'],
    ['accel-name', (p) => { p.accelerators[0].name = 'tpu:1'; }, 'accelerators[0].name'],
    ['cloud-modes-on-edge', (p) => { p.modes = { cpu: { gflops: 1, activeW: 1 } }; }, 'modes'],
    ['uncited', (p) => { delete p.sources['cpu.idleW']; }, 'sources.cpu.idleW'],
    ['uncited-accel', (p) => { for (const k of Object.keys(p.sources)) if (k.startsWith('accelerators.')) delete p.sources[k]; }, 'sources.accelerators.coral-usb'],
  ];

  it.each(cases)('%s: a coded BAD_ARGS naming the file and the field', (name, edit, field) => {
    const err = loadEdited(name, edit);
    expect(err.code).toBe('DYNASPLIT_ERR_BAD_ARGS');
    expect(err.details).toEqual({ file: join(dir, `${name}.json`), field });
    expect(err.message).toContain(`${name}.json`);
    expect(err.message).toContain(`'${field}'`);
  });

  it('a cloud profile needs a cpu mode', () => {
    const p = JSON.parse(JSON.stringify(loadProfile('gpu-server')));
    delete p.modes.cpu;
    delete p.sources['modes.cpu'];
    const file = join(dir, 'no-cpu-mode.json');
    writeFileSync(file, JSON.stringify(p));
    expect(() => loadProfile(file)).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_ARGS', details: { file, field: 'modes.cpu' } }));
  });

  it('unknown names, the host, missing files and bad JSON', () => {
    expect(() => loadProfile('rpi9')).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_ARGS', message: expect.stringContaining('rpi4') }));
    expect(() => loadProfile('host')).toThrow(/the 'host' profile is this machine as measured, not a file/);
    expect(() => loadProfile(join(dir, 'nope.json'))).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_FILE_NOT_FOUND' }));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "name": ');
    expect(() => loadProfile(bad)).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_ARGS', details: { file: bad } }));
  });

  it('by name, the host is this machine as calibrated (optimizer profile --edge host), the others are loaded', async () => {
    expect(await profileByName('rpi4')).toEqual(loadProfile('rpi4'));
    const host = await profileByName('host');
    expect(host.name).toBe('host');
    expect(host.calibration).toBeDefined();
  });
});

describe('knobs', () => {
  it('rpi4: frequencies, 1..4 threads, none plus the TPU modes', () => {
    expect(profileKnobs(loadProfile('rpi4'))).toEqual({
      frequenciesMhz: [600, 800, 1000, 1200, 1400, 1600, 1800],
      threads: [1, 2, 3, 4],
      accelerators: ['none', 'coral-usb:std', 'coral-usb:max'],
      cloudModes: [],
    });
  });

  it('gpu-server: cloud modes', () => {
    expect(profileKnobs(loadProfile('gpu-server')).cloudModes).toEqual(['cpu', 'gpu']);
  });

  it('accelerator knobs resolve qualified, and bare when unambiguous', () => {
    const p = loadProfile('rpi4');
    expect(resolveAccelerator(p, 'coral-usb:max')?.mode).toBe('max');
    expect(resolveAccelerator(p, 'std')?.spec.name).toBe('coral-usb');
    expect(resolveAccelerator(p, 'none')).toBeUndefined();
    expect(resolveAccelerator(p, '')).toBeUndefined();
    expect(() => resolveAccelerator(p, 'coral-usb:turbo')).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_ARGS' }));
  });
});

describe('validConfiguration', () => {
  const rpi4: DeviceProfile = loadProfile('rpi4');
  const ok = { paramBytes: 4 * MB, frequencyMhz: 1200, threads: 2, accelerator: 'none' };

  it('accepts a part that fits at a known step', () => {
    expect(validConfiguration(rpi4, ok)).toEqual({ ok: true });
    expect(validConfiguration(rpi4, { paramBytes: 0 })).toEqual({ ok: true });
  });

  it('rejects an unknown frequency and thread counts outside 1..cores', () => {
    expect(validConfiguration(rpi4, { ...ok, frequencyMhz: 1500 })).toEqual({ ok: false, reason: expect.stringContaining('1500 MHz') });
    expect(validConfiguration(rpi4, { ...ok, threads: 5 })).toEqual({ ok: false, reason: expect.stringContaining('4 cores') });
    expect(validConfiguration(rpi4, { ...ok, threads: 0 }).ok).toBe(false);
    expect(validConfiguration(rpi4, { ...ok, threads: 1.5 }).ok).toBe(false);
  });

  it('weights (and activations) must fit memory minus the reserve', () => {
    const room = (rpi4.memoryMb - rpi4.reserveMb) * MB;
    expect(validConfiguration(rpi4, { ...ok, paramBytes: room }).ok).toBe(true);
    expect(validConfiguration(rpi4, { ...ok, paramBytes: room + 1 })).toEqual({ ok: false, reason: expect.stringContaining('reserve') });
    expect(validConfiguration(rpi4, { ...ok, paramBytes: room - MB, activationBytes: 2 * MB }).ok).toBe(false);
  });

  it('the USB TPU runs a part only when its int8 weights fit the 8 MB SRAM', () => {
    // fp32 bytes / 4 = int8 bytes: 32 MB of fp32 weights are 8 MB on the TPU.
    expect(validConfiguration(rpi4, { ...ok, paramBytes: 32 * MB, accelerator: 'coral-usb:max' }).ok).toBe(true);
    expect(validConfiguration(rpi4, { ...ok, paramBytes: 32 * MB + 4, accelerator: 'coral-usb:std' }))
      .toEqual({ ok: false, reason: expect.stringContaining('coral-usb') });
    expect(validConfiguration(rpi4, { ...ok, paramBytes: 64 * MB, accelerator: 'none' }).ok).toBe(true);
    expect(validConfiguration(rpi4, { ...ok, accelerator: 'tpu:fast' }).ok).toBe(false);
  });

  it('cloud: unknown modes and GPU memory', () => {
    const server = loadProfile('gpu-server');
    expect(validConfiguration(server, { paramBytes: 600 * MB, cloudMode: 'gpu' }).ok).toBe(true);
    expect(validConfiguration(server, { paramBytes: 600 * MB }).ok).toBe(true);
    expect(validConfiguration(server, { paramBytes: 20_000 * MB, cloudMode: 'gpu' }).ok).toBe(false);
    expect(validConfiguration(server, { paramBytes: 20_000 * MB, cloudMode: 'cpu' }).ok).toBe(true);
    expect(validConfiguration(server, { paramBytes: MB, cloudMode: 'tpu' }).ok).toBe(false);
  });
});
