import { describe, expect, it } from 'vitest';
import {
  amdahlFraction, amdahlSpeedup, deviceComputeMs, deviceGflops, dilation, emulatedComputeMs, emulationDelayMs, loadProfile, predictedComputeMs,
  validateProfile, type DeviceProfile,
} from '../../../hardware/index.ts';

/** A fixed host (instead of calibrateHost) so the arithmetic is exact: 2 cores, 100 GFLOP/s per core at 2 GHz. */
const host: DeviceProfile = validateProfile({
  name: 'host', kind: 'edge', description: 'test host', memoryMb: 8192, reserveMb: 1024,
  cpu: { cores: 2, frequenciesMhz: [2000], gflopsPerCorePerGhz: 50, parallelFraction: 1, idleW: 10, activeW: { 2000: 20 } },
  sources: Object.fromEntries(['memoryMb', 'cpu.frequenciesMhz', 'cpu.gflopsPerCorePerGhz', 'cpu.parallelFraction', 'cpu.idleW', 'cpu.activeW']
    .map((k) => [k, 'test fixture'])),
}, 'test');

const rpi4 = loadProfile('rpi4');
const server = loadProfile('gpu-server');

describe('Amdahl', () => {
  it('speedup is 1 on one thread, n when all parallel, bounded by 1/(1-p)', () => {
    expect(amdahlSpeedup(1, 0.9)).toBeCloseTo(1, 12);
    expect(amdahlSpeedup(8, 1)).toBeCloseTo(8, 12);
    expect(amdahlSpeedup(4, 0.9)).toBeCloseTo(1 / 0.325, 12);
    expect(amdahlSpeedup(1e9, 0.9)).toBeLessThan(10);
  });

  it('amdahlFraction inverts amdahlSpeedup, clamped to [0, 1]', () => {
    expect(amdahlFraction(amdahlSpeedup(4, 0.9), 4)).toBeCloseTo(0.9, 12);
    expect(amdahlFraction(0.5, 2)).toBe(0);
    expect(amdahlFraction(5, 4)).toBe(1);
  });
});

describe('dilation', () => {
  it('is host GFLOP/s over device GFLOP/s', () => {
    // rpi4 at 1800 MHz on 1 thread: 3.35 * 1.8 GFLOP/s; host on 1 thread: 100 GFLOP/s.
    expect(dilation(host, rpi4, { frequencyMhz: 1800, threads: 1 })).toBeCloseTo(100 / (3.35 * 1.8), 10);
    expect(deviceGflops(rpi4, { frequencyMhz: 1800, threads: 1 })).toBeCloseTo(3.35 * 1.8, 10);
  });

  it('a slower device dilates (> 1); higher frequency and more threads dilate less (same host run)', () => {
    const at = (frequencyMhz: number, threads: number) => dilation(host, rpi4, { frequencyMhz, threads, hostThreads: 1 });
    expect(at(600, 1)).toBeGreaterThan(1);
    for (let i = 1; i < rpi4.cpu.frequenciesMhz.length; i++) {
      expect(at(rpi4.cpu.frequenciesMhz[i], 2)).toBeLessThan(at(rpi4.cpu.frequenciesMhz[i - 1], 2));
    }
    expect(at(1800, 2)).toBeLessThan(at(1800, 1));
    expect(at(1800, 4)).toBeLessThan(at(1800, 3));
  });

  it('the host threads are the ones it ran with (default: the device setting, clamped to host cores)', () => {
    const one = dilation(host, rpi4, { frequencyMhz: 1800, threads: 4, hostThreads: 1 });
    const two = dilation(host, rpi4, { frequencyMhz: 1800, threads: 4 });
    expect(two / one).toBeCloseTo(2, 10); // p = 1 on the host: 2 threads are twice one
  });

  it('accelerators: the TPU at max is faster than std and than the CPU', () => {
    const cpu = dilation(host, rpi4, { frequencyMhz: 1800, threads: 4 });
    const std = dilation(host, rpi4, { accelerator: 'coral-usb:std' });
    const max = dilation(host, rpi4, { accelerator: 'coral-usb:max' });
    expect(max).toBeLessThan(std);
    expect(std).toBeLessThan(cpu);
  });

  it('cloud: gpu faster than cpu; a device faster than the host dilates below 1 and is never slept', () => {
    const gpu = dilation(host, server, { cloudMode: 'gpu' });
    expect(gpu).toBeLessThan(dilation(host, server, { cloudMode: 'cpu' }));
    expect(gpu).toBeLessThan(1);
    const emulated = emulatedComputeMs(100, host, server, { cloudMode: 'gpu' });
    expect(emulated).toBeCloseTo(100 * gpu, 10);
    expect(emulationDelayMs(100, emulated)).toBe(0);
    expect(emulationDelayMs(100, 250)).toBe(150);
  });

  it('deviceComputeMs: FLOPs at the device speed, plus the host excess unscaled for a slower device, none for a faster one', () => {
    const flops = 2e9;
    const hostModel = predictedComputeMs(flops, host, { threads: 1 });
    const excess = 50;
    const pi = { frequencyMhz: 1800, threads: 4, hostThreads: 1 };
    expect(deviceComputeMs(hostModel + excess, flops, host, rpi4, pi)).toBeCloseTo(predictedComputeMs(flops, rpi4, pi) + excess, 9);
    const gpu = { cloudMode: 'gpu', hostThreads: 1 };
    const gpuMs = deviceComputeMs(hostModel + excess, flops, host, server, gpu);
    expect(dilation(host, server, gpu)).toBeLessThan(1);
    expect(gpuMs).toBeCloseTo(predictedComputeMs(flops, server, gpu), 9);
    // A host faster than its model leaves no excess: the device's model alone.
    expect(deviceComputeMs(hostModel / 2, flops, host, rpi4, pi)).toBeCloseTo(predictedComputeMs(flops, rpi4, pi), 9);
  });

  it('emulatedComputeMs scales the host time', () => {
    const factor = dilation(host, rpi4, { frequencyMhz: 1000, threads: 2 });
    expect(emulatedComputeMs(40, host, rpi4, { frequencyMhz: 1000, threads: 2 })).toBeCloseTo(40 * factor, 10);
  });

  it('defaults: the highest step, all cores, CPU, cloud cpu', () => {
    expect(deviceGflops(rpi4)).toBeCloseTo(deviceGflops(rpi4, { frequencyMhz: 1800, threads: 4 }), 12);
    expect(deviceGflops(server)).toBe(server.modes!.cpu.gflops);
  });

  it('unknown settings are coded errors', () => {
    const code = { code: 'DYNASPLIT_ERR_BAD_ARGS' };
    expect(() => dilation(host, rpi4, { frequencyMhz: 1500 })).toThrow(expect.objectContaining(code));
    expect(() => dilation(host, rpi4, { threads: 5 })).toThrow(expect.objectContaining(code));
    expect(() => dilation(host, rpi4, { accelerator: 'gpu:maxn' })).toThrow(expect.objectContaining(code));
    expect(() => dilation(host, server, { cloudMode: 'tpu' })).toThrow(expect.objectContaining(code));
  });

  it('predictedComputeMs: VGG16 on the Pi 4 at 1.5 GHz-class settings takes about 2 s', () => {
    const ms = predictedComputeMs(30.9e9, rpi4, { frequencyMhz: 1600, threads: 4 });
    expect(ms).toBeGreaterThan(1500);
    expect(ms).toBeLessThan(2500);
  });
});
