/**
 * The outgoing queue bound against clients that read: a persistent session whose stored queue is
 * several times the bound gets all of it on reconnect (the replay is paced, not cut off), and a
 * subscriber that reads keeps getting messages larger than half the bound.
 */
import { describe, expect, it } from 'vitest';
import { uniqueTopic, useBroker, waitFor } from './helpers.ts';

const MIB = 1024 * 1024;
// Queue bound 2 MiB: the smallest that holds one packet of the largest size (1 MiB) and a bit.
const { broker, clients } = useBroker({ maxPacketBytes: MIB, maxQueueBytes: 2 * MIB });

describe('the outgoing queue bound and clients that read', () => {
  it('a stored queue six times the bound is replayed in full on reconnect, without cutting the client off', async () => {
    const topic = uniqueTopic('backlog');
    const clientId = `backlog-${process.pid}`;
    const first = await clients.connect(broker().url, { clientId, clean: false });
    await first.subscribeAsync(topic, { qos: 1 });
    await first.endAsync();
    const publisher = await clients.connect(broker().url);
    const message = Buffer.alloc(512 * 1024, 0x62);
    for (let i = 0; i < 24; i++) await publisher.publishAsync(topic, message, { qos: 1 });

    // A client slower than the broker (mqtt.js reads its socket on only after each handleMessage).
    const { client, got } = await clients.connectCollecting(broker().url, { clientId, clean: false });
    client.handleMessage = (_packet, callback) => { setTimeout(() => callback(), 20); };
    await waitFor(() => got.length === 24, () => `24 queued messages (got ${got.length})`);
    expect(broker().stats().slowConsumers).toBe(0);
  });

  it('a subscriber that reads gets a stream of large messages, live', async () => {
    const topic = uniqueTopic('stream');
    const { client, got } = await clients.connectCollecting(broker().url);
    await client.subscribeAsync(topic, { qos: 0 });
    const publisher = await clients.connect(broker().url);
    const message = Buffer.alloc(900 * 1024, 0x63);
    for (let i = 0; i < 40; i++) await publisher.publishAsync(topic, message, { qos: 1 });
    await waitFor(() => got.length === 40, () => `40 messages (got ${got.length})`);
    expect(broker().stats().slowConsumers).toBe(0);
  });
});
