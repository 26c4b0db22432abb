import { describe, expect, it } from 'vitest';
import { calibrateHost, dilation, loadProfile, validateProfile } from '../../../hardware/index.ts';

describe('calibrateHost', () => {
  it('measures positive GFLOP/s and returns a valid, cited host profile', async () => {
    const host = await calibrateHost({ durationMs: 300 });
    expect(host.name).toBe('host');
    expect(host.cpu.cores).toBeGreaterThan(0);
    expect(host.cpu.gflopsPerCorePerGhz).toBeGreaterThan(0);
    expect(host.cpu.parallelFraction).toBeGreaterThanOrEqual(0);
    expect(host.cpu.parallelFraction).toBeLessThanOrEqual(1);
    expect(host.calibration?.singleThreadGflops).toBeGreaterThan(0);
    expect(host.calibration?.flops).toBeGreaterThan(9e8);
    // Measured throughput is labelled measured; power is labelled an estimate.
    expect(host.sources['cpu.gflopsPerCorePerGhz']).toMatch(/^measured/);
    expect(host.sources['cpu.idleW']).toMatch(/estimate, not measured/);
    expect(host.sources['cpu.activeW']).toMatch(/estimate, not measured/);
    expect(validateProfile(JSON.parse(JSON.stringify(host)), 'round trip')).toEqual(host);
    expect(dilation(host, loadProfile('rpi4'), { frequencyMhz: 600, threads: 1 })).toBeGreaterThan(0);
  });
});
