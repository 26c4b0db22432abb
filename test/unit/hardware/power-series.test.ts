import { describe, expect, it } from 'vitest';
import { parsePowerPayload, PowerSeries } from '../../../hardware/index.ts';

describe('PowerSeries', () => {
  it('integrates a sampled ramp exactly (trapezoid), interpolating at both ends', () => {
    const series = new PowerSeries();
    for (let t = 0; t <= 1000; t += 20) series.add(t, 10 + t / 100); // 10 W -> 20 W over 1 s
    // ∫ from 105 to 895 ms of (10 + t/100) W dt, in W·ms
    const exact = 10 * (895 - 105) + (895 ** 2 - 105 ** 2) / 200;
    expect(series.integrate(105, 895)).toBeCloseTo(exact, 6);
    expect(series.valueAt(110)).toBeCloseTo(11.1, 12);
  });

  it('holds the first value before the first sample and the last after the last', () => {
    const series = new PowerSeries();
    series.add(100, 5);
    series.add(200, 7);
    expect(series.valueAt(0)).toBe(5);
    expect(series.valueAt(500)).toBe(7);
    expect(series.integrate(0, 100)).toBe(500);
    expect(series.integrate(200, 300)).toBe(700);
    expect(series.integrate(50, 250)).toBeCloseTo(5 * 50 + 6 * 100 + 7 * 50, 12);
    expect(new PowerSeries().integrate(0, 10)).toBe(0);
    expect(series.integrate(10, 10)).toBe(0);
  });

  it('keeps samples in time order and at most about its capacity', () => {
    const series = new PowerSeries(100);
    series.add(10, 1);
    series.add(5, 2);
    expect(series.samples().map((s) => s.at)).toEqual([5, 10]);
    for (let i = 0; i < 1000; i++) series.add(20 + i, i);
    expect(series.length).toBeLessThanOrEqual(125);
    expect(series.length).toBeGreaterThanOrEqual(100);
    expect(series.last()).toEqual({ at: 1019, watts: 999 });
  });
});

describe('parsePowerPayload', () => {
  it.each([
    ['Tasmota tele SENSOR', '{"Time":"2024-05-01T10:00:00","ENERGY":{"TotalStartTime":"2024-01-01T00:00:00","Total":1.2,"Power":12.3,"Voltage":230}}', 12.3],
    ['Tasmota multi-channel', '{"ENERGY":{"Power":[12.5,2.5]}}', 15],
    ['Tasmota STATUS10', '{"StatusSNS":{"Time":"2024-05-01T10:00:00","ENERGY":{"Power":7}}}', 7],
    ['Shelly Gen2 switch status', '{"id":0,"source":"timer","output":true,"apower":42.1,"voltage":231.5}', 42.1],
    ['Shelly Gen2 NotifyStatus', '{"src":"shellyplus1pm","method":"NotifyStatus","params":{"ts":1.5,"switch:0":{"id":0,"apower":3.5},"switch:1":{"id":1,"apower":1.5}}}', 5],
    ['Shelly Gen1 relay power', '12.34', 12.34],
    ['plain number with spaces', ' 0 \n', 0],
  ])('%s', (_name, payload, watts) => {
    expect(parsePowerPayload(Buffer.from(payload))).toBeCloseTo(watts, 12);
  });

  it.each([
    ['Tasmota state', '{"POWER":"ON"}'],
    ['Shelly Gen1 relay state', 'on'],
    ['empty', ''],
    ['negative', '-3'],
    ['ENERGY without Power', '{"ENERGY":{"Voltage":230}}'],
    ['NotifyStatus without power', '{"method":"NotifyStatus","params":{"sys":{"uptime":3}}}'],
  ])('%s carries no power', (_name, payload) => {
    expect(parsePowerPayload(payload)).toBeUndefined();
  });
});
