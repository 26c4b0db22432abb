import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { counterDelta, createEnergyMeter, createRaplMeter } from '../../../hardware/index.ts';

const MAX_RANGE_UJ = 262_143_328_850;
let roots: string[] = [];
afterEach(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
  roots = [];
});

/** A powercap tree: zone name -> energy_uj, each with max_energy_range_uj; returns the root. */
function fixture(zones: Record<string, number>): string {
  const root = mkdtempSync(join(tmpdir(), 'dynasplit-powercap-'));
  roots.push(root);
  for (const [zone, uj] of Object.entries(zones)) setCounter(root, zone, uj);
  return root;
}

function setCounter(root: string, zone: string, uj: number): void {
  mkdirSync(join(root, zone), { recursive: true });
  writeFileSync(join(root, zone, 'name'), zone.includes('mmio') ? 'package-0\n' : `package-${zone.split(':')[1]}\n`);
  writeFileSync(join(root, zone, 'max_energy_range_uj'), `${MAX_RANGE_UJ}\n`);
  writeFileSync(join(root, zone, 'energy_uj'), `${uj}\n`);
}

describe('RAPL meter', () => {
  it('sums the package zones across a wraparound, exactly, and skips subzones and mmio', async () => {
    const root = fixture({
      'intel-rapl:0': MAX_RANGE_UJ - 1_000_000,
      'intel-rapl:1': 5_000_000,
      'intel-rapl:0:0': 100, // core subzone: part of package 0, not added again
      'intel-rapl-mmio:0': 100, // the same package through MMIO
    });
    const meter = createRaplMeter({ root });
    expect(meter.source).toBe('measured');
    const mark = meter.start();
    setCounter(root, 'intel-rapl:0', 500_000); // wrapped: 1,000,000 + 500,000 µJ
    setCounter(root, 'intel-rapl:1', 7_250_000); // 2,250,000 µJ
    setCounter(root, 'intel-rapl:0:0', 999_999_999);
    setCounter(root, 'intel-rapl-mmio:0', 999_999_999);
    expect(await meter.stop(mark, { computeMs: 0, idleMs: 0 })).toEqual({ joules: 3.75, source: 'measured' });
    expect(await meter.stop(mark, { computeMs: 0, idleMs: 0, share: 0.5 })).toEqual({ joules: 1.875, source: 'measured' });
    await meter.close();
  });

  it('counterDelta corrects one wrap', () => {
    expect(counterDelta(10, 25, 100)).toBe(15);
    expect(counterDelta(90, 5, 100)).toBe(15);
  });

  it('orders packages numerically (intel-rapl:10 after intel-rapl:2)', async () => {
    const zones = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`intel-rapl:${i}`, 0]));
    const root = fixture(zones);
    const meter = createRaplMeter({ root });
    const mark = meter.start();
    setCounter(root, 'intel-rapl:10', 2_000_000);
    setCounter(root, 'intel-rapl:2', 1_000_000);
    expect((await meter.stop(mark, { computeMs: 0, idleMs: 0 })).joules).toBe(3);
  });

  it('no tree, no zones, or an unreadable counter: coded errors at creation', async () => {
    expect(() => createRaplMeter({ root: join(tmpdir(), 'no-such-powercap') })).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_FILE_NOT_FOUND' }));
    const empty = fixture({});
    expect(() => createRaplMeter({ root: empty })).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_FILE_NOT_FOUND' }));
    const broken = fixture({ 'intel-rapl:0': 1 });
    rmSync(join(broken, 'intel-rapl:0', 'energy_uj'));
    mkdirSync(join(broken, 'intel-rapl:0', 'energy_uj')); // EISDIR on read
    expect(() => createRaplMeter({ root: broken })).toThrow(expect.objectContaining({
      code: 'DYNASPLIT_ERR_PROVIDER_UNAVAILABLE', details: expect.objectContaining({ file: join(broken, 'intel-rapl:0', 'energy_uj') }),
    }));
    await expect(createEnergyMeter('rapl', { root: empty })).rejects.toMatchObject({ code: 'DYNASPLIT_ERR_FILE_NOT_FOUND' });
  });

  it('this machine has no RAPL: the default root fails with a coded error, or works where it exists', () => {
    try {
      expect(createRaplMeter().source).toBe('measured');
    } catch (err) {
      expect((err as { code: string }).code).toMatch(/^DYNASPLIT_ERR_(FILE_NOT_FOUND|PROVIDER_UNAVAILABLE)$/);
    }
  });
});
