import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createEmulatedFrequencyController, createFrequencyController, createSysfsFrequencyController, loadProfile,
} from '../../../hardware/index.ts';

const PI_KHZ = [600_000, 800_000, 1_000_000, 1_200_000, 1_400_000, 1_600_000, 1_800_000];
const rpi4 = loadProfile('rpi4');

let roots: string[] = [];
afterEach(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
  roots = [];
});

/** A sysfs tree with `cpus` CPUs under cpufreq, governor ondemand, as on a Raspberry Pi 4. */
function fixture(cpus = 4, khz = PI_KHZ): string {
  const root = mkdtempSync(join(tmpdir(), 'dynasplit-sysfs-'));
  roots.push(root);
  const cpuRoot = join(root, 'devices/system/cpu');
  mkdirSync(join(cpuRoot, 'cpufreq/policy0'), { recursive: true }); // not a cpuN entry
  mkdirSync(join(cpuRoot, 'cpuidle'), { recursive: true });
  for (let i = 0; i < cpus; i++) {
    const dir = join(cpuRoot, `cpu${i}`, 'cpufreq');
    mkdirSync(dir, { recursive: true });
    const files: Record<string, string> = {
      scaling_available_frequencies: `${khz.join(' ')} \n`,
      scaling_available_governors: 'conservative ondemand userspace powersave performance schedutil\n',
      scaling_governor: 'ondemand\n',
      scaling_setspeed: '<unsupported>\n',
      scaling_cur_freq: `${khz[khz.length - 1]}\n`,
      cpuinfo_min_freq: `${khz[0]}\n`,
      cpuinfo_max_freq: `${khz[khz.length - 1]}\n`,
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  }
  return root;
}

const file = (root: string, cpu: number, name: string) => readFileSync(join(root, `devices/system/cpu/cpu${cpu}/cpufreq`, name), 'utf8').trim();

/** A logger whose JSON lines land in `lines`. */
function capture(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => raw.push(line) });
  return { logger, lines: () => raw.map((l) => JSON.parse(l)) };
}

describe('sysfs frequency controller', () => {
  it('set: governor userspace and setspeed in kHz on every CPU; restore: the original governor', async () => {
    const root = fixture();
    const controller = await createFrequencyController(rpi4, { sysfsRoot: root });
    expect(controller.kind).toBe('sysfs');
    expect(controller.frequenciesMhz).toEqual([600, 800, 1000, 1200, 1400, 1600, 1800]);
    expect(controller.current()).toBe(1800);

    const { tookMs } = await controller.set(1200);
    expect(Number.isFinite(tookMs)).toBe(true);
    for (let cpu = 0; cpu < 4; cpu++) {
      expect(file(root, cpu, 'scaling_governor')).toBe('userspace');
      expect(file(root, cpu, 'scaling_setspeed')).toBe('1200000');
    }
    await controller.set(600);
    expect(file(root, 3, 'scaling_setspeed')).toBe('600000');
    writeFileSync(join(root, 'devices/system/cpu/cpu0/cpufreq/scaling_cur_freq'), '600000\n'); // what the kernel would show
    expect(controller.current()).toBe(600);

    await controller.restore();
    for (let cpu = 0; cpu < 4; cpu++) expect(file(root, cpu, 'scaling_governor')).toBe('ondemand');
    await controller.restore(); // idempotent
  });

  it('an unknown frequency is a coded BAD_ARGS and writes nothing', async () => {
    const root = fixture();
    const controller = await createSysfsFrequencyController({ root });
    await expect(controller.set(1500)).rejects.toMatchObject({ code: 'DYNASPLIT_ERR_BAD_ARGS' });
    expect(file(root, 0, 'scaling_governor')).toBe('ondemand');
  });

  it('kHz steps that are not whole MHz are offered rounded and written back exactly', async () => {
    const root = fixture(2, [102_000, 307_200, 921_600, 1_479_000]);
    const controller = await createSysfsFrequencyController({ root });
    expect(controller.frequenciesMhz).toEqual([102, 307, 922, 1479]);
    await controller.set(922);
    expect(file(root, 1, 'scaling_setspeed')).toBe('921600');
  });

  it('a governor already userspace gets its speed back on restore', async () => {
    const root = fixture(1);
    writeFileSync(join(root, 'devices/system/cpu/cpu0/cpufreq/scaling_governor'), 'userspace\n');
    writeFileSync(join(root, 'devices/system/cpu/cpu0/cpufreq/scaling_setspeed'), '800000\n');
    const controller = await createSysfsFrequencyController({ root });
    await controller.set(1600);
    await controller.restore();
    expect(file(root, 0, 'scaling_governor')).toBe('userspace');
    expect(file(root, 0, 'scaling_setspeed')).toBe('800000');
  });

  it('a failing write is a coded error naming the file', async () => {
    const root = fixture(1);
    const setspeed = join(root, 'devices/system/cpu/cpu0/cpufreq/scaling_setspeed');
    rmSync(setspeed);
    mkdirSync(setspeed); // EISDIR on write
    const controller = await createSysfsFrequencyController({ root });
    await expect(controller.set(1000)).rejects.toMatchObject({ code: 'DYNASPLIT_ERR_PROVIDER_UNAVAILABLE', details: { file: setspeed, errno: 'EISDIR' } });
  });

  it.skipIf(process.getuid?.() === 0)('permission denied is a coded error (not as root)', async () => {
    const root = fixture(1);
    const { chmodSync } = await import('node:fs');
    chmodSync(join(root, 'devices/system/cpu/cpu0/cpufreq/scaling_governor'), 0o444);
    const controller = await createSysfsFrequencyController({ root });
    await expect(controller.set(1000)).rejects.toMatchObject({ code: 'DYNASPLIT_ERR_PROVIDER_UNAVAILABLE', message: expect.stringMatching(/permission denied/) });
  });
});

describe('falling back to the emulated clock', () => {
  it('no cpufreq tree: emulated, and the log says why', async () => {
    const { logger, lines } = capture();
    const controller = await createFrequencyController(rpi4, { sysfsRoot: join(tmpdir(), 'no-such-sysfs'), logger });
    expect(controller.kind).toBe('emulated');
    expect(controller.frequenciesMhz).toEqual(rpi4.cpu.frequenciesMhz);
    expect(lines()).toContainEqual(expect.objectContaining({ component: 'frequency', reason: expect.stringContaining('cpufreq') }));
  });

  it('no scaling_setspeed, or no userspace governor: emulated', async () => {
    const noSetspeed = fixture(2);
    rmSync(join(noSetspeed, 'devices/system/cpu/cpu1/cpufreq/scaling_setspeed'));
    expect((await createFrequencyController(rpi4, { sysfsRoot: noSetspeed })).kind).toBe('emulated');
    const noUserspace = fixture(1);
    writeFileSync(join(noUserspace, 'devices/system/cpu/cpu0/cpufreq/scaling_available_governors'), 'performance powersave\n');
    const { logger, lines } = capture();
    expect((await createFrequencyController(rpi4, { sysfsRoot: noUserspace, logger })).kind).toBe('emulated');
    expect(lines()).toContainEqual(expect.objectContaining({ reason: expect.stringContaining('userspace') }));
  });

  it('this machine (no cpufreq): the default root gives the emulated clock', async () => {
    const controller = await createFrequencyController(rpi4);
    expect(['emulated', 'sysfs']).toContain(controller.kind);
  });

  it('the emulated clock records the setting, times it, rejects unknown steps and restores', async () => {
    const clock = createEmulatedFrequencyController([1800, 600, 1200]);
    expect(clock.kind).toBe('emulated');
    expect(clock.frequenciesMhz).toEqual([600, 1200, 1800]);
    expect(clock.current()).toBe(1800);
    expect(Number.isFinite((await clock.set(600)).tookMs)).toBe(true);
    expect(clock.current()).toBe(600);
    await expect(clock.set(700)).rejects.toMatchObject({ code: 'DYNASPLIT_ERR_BAD_ARGS' });
    await clock.restore();
    expect(clock.current()).toBe(1800);
  });
});
