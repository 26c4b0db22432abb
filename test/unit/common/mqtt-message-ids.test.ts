/**
 * connectMqtt's clients never give a QoS 1 publish the id of one still waiting for its PUBACK. MQTT.js's
 * default numbers them round a 16-bit counter: with more than 65,535 in flight (a sensor publishing
 * while its broker is away or behind) a publish overwrote a live one's entry, and the older publish and
 * its callback were lost. Against a real broker (in-process, port 0): more publishes than there are ids,
 * all made before any PUBACK can come back, each acknowledged and delivered once.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../../broker/index.ts';
import { connectMqtt, endMqtt } from '../../../common/index.ts';

let broker: BrokerHandle;
beforeAll(async () => { broker = await startBroker({ host: '127.0.0.1', port: 0 }); });
afterAll(async () => { await broker?.close(); });

const IDS = 65_535;

describe('QoS 1 message ids', () => {
  it('are not reused while in flight: more publishes than ids, made at once, are all acknowledged and delivered', async () => {
    const id = `ids-${Math.random().toString(36).slice(2, 8)}`;
    const topic = `t/${id}`;
    const count = IDS + 500;
    const publisher = await connectMqtt(broker.url, { clientId: `${id}-p` });
    const subscriber = await connectMqtt(broker.url, { clientId: `${id}-s` });
    onTestFinished(async () => { await endMqtt(publisher); await endMqtt(subscriber); });
    const received = new Set<number>();
    subscriber.on('message', (_topic, payload) => received.add(payload.readUInt32BE(0)));
    await subscriber.subscribeAsync(topic, { qos: 1 });

    let acknowledged = 0;
    const failures: string[] = [];
    // One synchronous loop: no PUBACK can arrive before every publish has asked for its id.
    for (let i = 0; i < count; i++) {
      const payload = Buffer.alloc(4);
      payload.writeUInt32BE(i);
      publisher.publish(topic, payload, { qos: 1 }, (err) => {
        if (err) failures.push(err.message);
        else acknowledged++;
      });
    }
    await vi.waitFor(() => expect(received.size).toBe(count), { timeout: 120_000, interval: 200 });
    await vi.waitFor(() => expect(acknowledged + failures.length).toBe(count), { timeout: 30_000, interval: 200 });
    expect(failures).toEqual([]);
    expect(acknowledged).toBe(count);
  }, 180_000);
});
