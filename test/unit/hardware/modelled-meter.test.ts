import { describe, expect, it } from 'vitest';
import { activePowerW, createEnergyMeter, createModelledMeter, idlePowerW, loadProfile, modelledJoules } from '../../../hardware/index.ts';

const rpi4 = loadProfile('rpi4');
const server = loadProfile('gpu-server');

describe('modelled power', () => {
  it('idle: the board plus attached accelerators', () => {
    expect(idlePowerW(rpi4)).toBeCloseTo(2.7 + 0.5, 12);
    expect(idlePowerW(server)).toBe(95);
  });

  it('all cores busy: the profile figure at that frequency, plus accelerators idle', () => {
    expect(activePowerW(rpi4, { frequencyMhz: 1800, threads: 4 })).toBeCloseTo(6.4 + 0.5, 12);
    expect(activePowerW(rpi4)).toBeCloseTo(6.4 + 0.5, 12);
    expect(activePowerW(rpi4, { frequencyMhz: 600, threads: 4 })).toBeCloseTo(3.41 + 0.5, 12);
  });

  it('fewer threads: interpolated between idle and all cores busy', () => {
    // 1 of 4 cores at 1800 MHz: 2.7 + (6.4 - 2.7) / 4 W, plus the TPU idle.
    expect(activePowerW(rpi4, { frequencyMhz: 1800, threads: 1 })).toBeCloseTo(2.7 + 3.7 / 4 + 0.5, 12);
    expect(activePowerW(rpi4, { frequencyMhz: 1800, threads: 2 })).toBeCloseTo(2.7 + 3.7 / 2 + 0.5, 12);
  });

  it('accelerator: board idle plus the mode power instead of its idle', () => {
    expect(activePowerW(rpi4, { accelerator: 'coral-usb:max' })).toBeCloseTo(2.7 + 2.75, 12);
    expect(activePowerW(rpi4, { accelerator: 'std' })).toBeCloseTo(2.7 + 2.0, 12);
  });

  it('cloud: the mode power of the node', () => {
    expect(activePowerW(server, { cloudMode: 'gpu' })).toBe(180);
    expect(activePowerW(server)).toBe(235);
  });
});

describe('modelledJoules', () => {
  it('P_active * compute + P_idle * idle, in J', () => {
    // 500 ms at 1200 MHz on 4 threads (4.71 + 0.5 W) + 200 ms idle (3.2 W)
    expect(modelledJoules(rpi4, { computeMs: 500, idleMs: 200, frequencyMhz: 1200, threads: 4 }))
      .toBeCloseTo((5.21 * 500 + 3.2 * 200) / 1000, 12);
    expect(modelledJoules(rpi4, { computeMs: 0, idleMs: 1000 })).toBeCloseTo(3.2, 12);
  });

  it('cloud: times the request share of the node', () => {
    const full = modelledJoules(server, { computeMs: 10, idleMs: 5, cloudMode: 'gpu' });
    expect(full).toBeCloseTo((180 * 10 + 95 * 5) / 1000, 12);
    expect(modelledJoules(server, { computeMs: 10, idleMs: 5, cloudMode: 'gpu', share: 0.25 })).toBeCloseTo(full / 4, 12);
  });

  it('rejects negative times, shares outside [0, 1] and unknown steps with coded errors', () => {
    const code = expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_ARGS' });
    expect(() => modelledJoules(rpi4, { computeMs: -1, idleMs: 0 })).toThrow(code);
    expect(() => modelledJoules(rpi4, { computeMs: 1, idleMs: NaN })).toThrow(code);
    expect(() => modelledJoules(server, { computeMs: 1, idleMs: 0, share: 1.5 })).toThrow(code);
    expect(() => modelledJoules(rpi4, { computeMs: 1, idleMs: 0, frequencyMhz: 1500 })).toThrow(code);
  });
});

describe('modelled meter', () => {
  it('says modelled, and reads what modelledJoules computes', async () => {
    const meter = createModelledMeter({ profile: rpi4 });
    expect(meter.source).toBe('modelled');
    const usage = { computeMs: 120, idleMs: 30, frequencyMhz: 800, threads: 3, accelerator: 'none' };
    const reading = await meter.stop(meter.start(), usage);
    expect(reading).toEqual({ joules: modelledJoules(rpi4, usage), source: 'modelled' });
    await meter.close();
  });

  it('the factory builds it, and refuses a missing profile or an unknown kind', async () => {
    const meter = await createEnergyMeter('modelled', { profile: server });
    expect(meter.source).toBe('modelled');
    await expect(createEnergyMeter('modelled', {} as never)).rejects.toMatchObject({ code: 'DYNASPLIT_ERR_BAD_ARGS' });
    await expect(createEnergyMeter('watt-o-meter' as never)).rejects.toMatchObject({ code: 'DYNASPLIT_ERR_BAD_ARGS' });
  });
});
