/**
 * The MQTT power meter against a real broker (aedes on 127.0.0.1:0) and a simulated smart plug
 * publishing a known power trace every 20 ms, in Tasmota and Shelly formats.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../../broker/index.ts';
import { connectMqtt } from '../../../common/index.ts';
import { createEnergyMeter, createMqttPowerMeter, type MqttPowerMeter } from '../../../hardware/index.ts';

let broker: BrokerHandle;
beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
});
afterAll(() => broker.close());

const PERIOD_MS = 20;

/** The plug's true power, W, at `ms` since the trace began: a ramp 10 -> 14 W, then steps to 16 and 12 W. */
function trace(ms: number): number {
  if (ms < 600) return 10 + (4 * ms) / 600;
  return ms < 1200 ? 16 : 12;
}

/** ∫ trace over [a, b] ms, in J (exact, piecewise). */
function exactJoules(a: number, b: number): number {
  const ramp = (x: number) => 10 * x + (4 * x * x) / 1200; // ∫0^x (10 + 4t/600) dt
  const cum = (x: number) => (x < 600 ? ramp(x) : x < 1200 ? ramp(600) + 16 * (x - 600) : ramp(600) + 16 * 600 + 12 * (x - 1200));
  return (cum(b) - cum(a)) / 1000;
}

type Format = (watts: number) => string;
const tasmota: Format = (w) => JSON.stringify({ Time: new Date().toISOString(), ENERGY: { Total: 1.5, Power: w, Voltage: 230, Current: w / 230 } });
const shelly: Format = (w) => JSON.stringify({ id: 0, source: 'timer', output: true, apower: w, voltage: 230.1 });

/** A plug publishing trace(now - t0) every PERIOD_MS on `topic`; returns t0 (performance.now()) and a stop function. */
async function startPlug(topic: string, format: Format): Promise<{ t0: number; stop: () => Promise<void> }> {
  const plug = await connectMqtt(broker.url, { clientId: `plug-${randomUUID().slice(0, 8)}` });
  const t0 = performance.now();
  const publish = () => { void plug.publishAsync(topic, format(trace(performance.now() - t0))).catch(() => {}); };
  publish();
  const timer = setInterval(publish, PERIOD_MS);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    await plug.endAsync();
  };
  onTestFinished(stop);
  return { t0, stop };
}

async function meterOn(topic: string): Promise<MqttPowerMeter> {
  const meter = await createMqttPowerMeter({ url: broker.url, topic, samplePeriodMs: PERIOD_MS });
  onTestFinished(() => meter.close());
  return meter;
}

/** Resolves once the meter holds at least `count` samples. */
const samplesReach = (meter: MqttPowerMeter, count: number) =>
  vi.waitFor(() => expect(meter.samples().length).toBeGreaterThanOrEqual(count), { timeout: 10_000, interval: 5 });

describe('MQTT power meter', () => {
  it.each([
    ['Tasmota tele/<plug>/SENSOR', 'tele', tasmota],
    ['Shelly Gen2 <plug>/status/switch:0', 'shelly', shelly],
  ])('%s: integrates a ramp and steps within one percent of the exact integral', async (_name, kind, format) => {
    const topic = kind === 'tele' ? `tele/plug-${randomUUID().slice(0, 8)}/SENSOR` : `plug-${randomUUID().slice(0, 8)}/status/switch:0`;
    const meter = await meterOn(topic);
    expect(meter.source).toBe('measured');
    const plug = await startPlug(topic, format);
    await samplesReach(meter, 5);
    const mark = meter.start();
    // 65 more samples (~1.3 s at 20 ms): the interval spans the ramp and both steps.
    await samplesReach(meter, meter.samples().length + 65);
    const end = performance.now();
    const reading = await meter.stop(mark, { computeMs: 0, idleMs: 0 });
    const exact = exactJoules(mark.at - plug.t0, end - plug.t0);
    expect(reading.source).toBe('measured');
    expect(Math.abs(reading.joules - exact) / exact).toBeLessThan(0.01);
    expect(meter.ignored).toBe(0);

    const half = await meter.stop(mark, { computeMs: 0, idleMs: 0, share: 0.5 });
    expect(half.joules).toBeGreaterThan(reading.joules / 2); // a later stop, a little more energy
    expect(half.joules).toBeLessThan(reading.joules);
  });

  it('holds the last value when the plug goes quiet, and ignores payloads without power', async () => {
    const topic = `shellies/plug-${randomUUID().slice(0, 8)}/relay/0/power`;
    const meter = await meterOn(topic);
    const plug = await connectMqtt(broker.url, { clientId: `plug-${randomUUID().slice(0, 8)}` });
    onTestFinished(() => plug.endAsync());
    await plug.publishAsync(topic, 'on');
    await plug.publishAsync(topic, '8.5', { qos: 1 });
    await samplesReach(meter, 1);
    const mark = meter.start();
    // The quiet interval the held value is integrated over: 200 ms of nothing from the plug.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const end = performance.now();
    const reading = await meter.stop(mark, { computeMs: 0, idleMs: 0 });
    // 8.5 W held over the interval (stop() waited one period for a sample that never came).
    expect(reading.joules).toBeGreaterThanOrEqual((8.5 * (end - mark.at)) / 1000 - 1e-9);
    expect(reading.joules).toBeLessThan((8.5 * (end - mark.at + 5)) / 1000);
    expect(meter.ignored).toBe(1);
  });

  it('no samples at all: a retryable TIMEOUT', async () => {
    const meter = await meterOn(`tele/silent-${randomUUID().slice(0, 8)}/SENSOR`);
    const mark = meter.start();
    await expect(meter.stop(mark, { computeMs: 0, idleMs: 0 })).rejects.toMatchObject({ code: 'DYNASPLIT_ERR_TIMEOUT', retryable: true });
  });

  it('the factory connects it; a broker that is not there is a coded TRANSPORT error', async () => {
    const meter = await createEnergyMeter('mqtt', { url: broker.url, topic: 'tele/x/SENSOR' });
    expect(meter.source).toBe('measured');
    await meter.close();
    await meter.close(); // idempotent
    await expect(createMqttPowerMeter({ url: 'mqtt://127.0.0.1:1', topic: 't' })).rejects.toMatchObject({ code: 'DYNASPLIT_ERR_TRANSPORT' });
  });
});
