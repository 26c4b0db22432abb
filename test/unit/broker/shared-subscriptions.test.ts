import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { collect, uniqueTopic, useBroker, waitFor, type Received } from './helpers.ts';

const { broker, clients } = useBroker();

async function member(filter: string, qos: 0 | 1 = 1): Promise<{ client: MqttClient; got: Received[] }> {
  const client = await clients.connect(broker().url);
  const got = collect(client);
  await client.subscribeAsync(filter, { qos });
  return { client, got };
}

/** Publishes messages `from`..`to`-1 with the index as payload, over a few sensor topics. */
async function publishRange(publisher: MqttClient, base: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) await publisher.publishAsync(`${base}/s${i % 5}`, String(i), { qos: 1 });
}

function payloads(...lists: Received[][]): number[] {
  return lists.flat().map((m) => Number(m.payload)).sort((a, b) => a - b);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

describe('shared subscriptions ($share/GROUP/FILTER)', () => {
  it('delivers each message to exactly one group member, evenly, under its original topic', async () => {
    const base = uniqueTopic('shared');
    const members = [await member(`$share/g/${base}/+`), await member(`$share/g/${base}/+`), await member(`$share/g/${base}/+`)];
    const plain = await member(`${base}/+`);
    const publisher = await clients.connect(broker().url);
    await publishRange(publisher, base, 0, 300);

    const got = members.map((m) => m.got);
    await waitFor(() => plain.got.length === 300 && got.flat().length >= 300,
      () => `300 deliveries (plain ${plain.got.length}, group ${got.flat().length})`);
    expect(payloads(...got)).toEqual(range(0, 300));
    for (const list of got) expect(list.length).toBeGreaterThan(50);
    expect(payloads(plain.got)).toEqual(range(0, 300));
    for (const m of got.flat()) {
      expect(m.topic).toBe(`${base}/s${Number(m.payload) % 5}`);
    }
    expect(broker().stats().shared.groups).toBeGreaterThanOrEqual(1);
  });

  it('gives every group its own copy', async () => {
    const base = uniqueTopic('groups');
    const a = [await member(`$share/a/${base}/#`), await member(`$share/a/${base}/#`)];
    const b = [await member(`$share/b/${base}/#`), await member(`$share/b/${base}/#`)];
    const publisher = await clients.connect(broker().url);
    await publishRange(publisher, base, 0, 100);

    await waitFor(() => a.flatMap((m) => m.got).length >= 100 && b.flatMap((m) => m.got).length >= 100,
      () => `100 deliveries per group (a ${a.flatMap((m) => m.got).length}, b ${b.flatMap((m) => m.got).length})`);
    expect(payloads(...a.map((m) => m.got))).toEqual(range(0, 100));
    expect(payloads(...b.map((m) => m.got))).toEqual(range(0, 100));
  });

  it('shares QoS 0 messages on QoS 0 subscriptions the same way', async () => {
    const base = uniqueTopic('qos0');
    const members = [await member(`$share/g/${base}/+`, 0), await member(`$share/g/${base}/+`, 0)];
    const publisher = await clients.connect(broker().url);
    for (let i = 0; i < 60; i++) await publisher.publishAsync(`${base}/s${i % 5}`, String(i), { qos: 0 });
    // A QoS 1 marker after them: TCP keeps order, so once it is in, the QoS 0 messages are too.
    await publisher.publishAsync(`${base}/end`, '60', { qos: 1 });

    await waitFor(() => members.flatMap((m) => m.got).length >= 61, () => `61 deliveries (got ${members.flatMap((m) => m.got).length})`);
    expect(payloads(...members.map((m) => m.got))).toEqual(range(0, 61));
    for (const m of members) expect(m.got.length).toBeGreaterThan(20);
  });

  it('hands the stream to the remaining members when one disconnects', async () => {
    const base = uniqueTopic('leave');
    const members = [await member(`$share/g/${base}/+`), await member(`$share/g/${base}/+`), await member(`$share/g/${base}/+`)];
    const publisher = await clients.connect(broker().url);
    await publishRange(publisher, base, 0, 60);
    await waitFor(() => members.flatMap((m) => m.got).length >= 60, () => 'the first 60 messages');

    const gone = members.pop()!;
    const before = broker().stats().shared.members;
    gone.client.end(true); // no DISCONNECT packet: the broker sees the socket drop
    await waitFor(() => broker().stats().shared.members === before - 1, () => 'the broker to drop the member');
    await publishRange(publisher, base, 60, 160);

    const after = () => payloads(...members.map((m) => m.got)).filter((n) => n >= 60);
    await waitFor(() => after().length >= 100, () => `the next 100 messages (got ${after().length})`);
    expect(after()).toEqual(range(60, 160));
    expect(gone.got.every((m) => Number(m.payload) < 60)).toBe(true);
    expect(payloads(gone.got, ...members.map((m) => m.got))).toEqual(range(0, 160));
  });

  it('stops delivering to a member that unsubscribes, and it stays connected', async () => {
    const base = uniqueTopic('unsub');
    const stay = await member(`$share/g/${base}/+`);
    const leave = await member(`$share/g/${base}/+`);
    await leave.client.unsubscribeAsync(`$share/g/${base}/+`);
    const publisher = await clients.connect(broker().url);
    await publishRange(publisher, base, 0, 50);

    await waitFor(() => stay.got.length >= 50, () => `50 messages for the remaining member (got ${stay.got.length})`);
    expect(payloads(stay.got)).toEqual(range(0, 50));
    expect(leave.got).toEqual([]);
    expect(leave.client.connected).toBe(true);
  });

  it('a member with a plain subscription too gets every message once; the group still shares', async () => {
    const base = uniqueTopic('overlap');
    const both = await member(`$share/g/${base}/+`);
    await both.client.subscribeAsync(`${base}/#`, { qos: 1 });
    const other = await member(`$share/g/${base}/+`);
    const publisher = await clients.connect(broker().url);
    await publishRange(publisher, base, 0, 100);

    await waitFor(() => both.got.length >= 100, () => `100 messages for the overlapping client (got ${both.got.length})`);
    await waitFor(() => other.got.length > 0, () => 'some messages for the other member');
    expect(payloads(both.got)).toEqual(range(0, 100));
    expect(other.got.length).toBeLessThan(100);
    expect(new Set(other.got.map((m) => m.payload)).size).toBe(other.got.length);
  });

  it('refuses malformed shared filters with SUBACK 0x80 and keeps the connection', async () => {
    const client = await clients.connect(broker().url);
    for (const filter of ['$share/g', '$share//t', '$share/g/']) {
      // mqtt.js turns a SUBACK return code 0x80 into a rejected subscribe.
      await expect(client.subscribeAsync(filter, { qos: 1 }), filter).rejects.toThrow(/Subscribe error/);
    }
    expect(client.connected).toBe(true);
  });

  it('keeps a persistent-session member in its group across a reconnect', async () => {
    const base = uniqueTopic('session');
    const clientId = `member-${base.split('/').pop()}`;
    const first = await clients.connect(broker().url, { clientId, clean: false });
    await first.subscribeAsync(`$share/g/${base}/+`, { qos: 1 });
    await first.endAsync();
    const other = await member(`$share/g/${base}/+`);

    // The same session again, without subscribing: the broker restores `$share/g/...` itself.
    const again = await clients.connect(broker().url, { clientId, clean: false });
    const got = collect(again);
    const publisher = await clients.connect(broker().url);
    await publishRange(publisher, base, 0, 60);

    await waitFor(() => got.length + other.got.length >= 60, () => `60 messages (session ${got.length}, other ${other.got.length})`);
    expect(payloads(got, other.got)).toEqual(range(0, 60));
    expect(got.length).toBeGreaterThan(10);
    expect(again.connected).toBe(true);
  });

  it('redelivers an unacknowledged message to the chosen persistent member when it comes back', async () => {
    const base = uniqueTopic('inflight');
    const clientId = `inflight-${base.split('/').pop()}`;
    const first = await clients.connect(broker().url, { clientId, clean: false });
    const seen = collect(first);
    // mqtt.js sends PUBACK when handleMessage calls back; never calling back leaves the message in
    // flight in the broker's session queue.
    first.handleMessage = () => {};
    await first.subscribeAsync(`$share/g/${base}/+`, { qos: 1 });
    const publisher = await clients.connect(broker().url);
    await publisher.publishAsync(`${base}/s0`, 'in flight', { qos: 1 });
    await waitFor(() => seen.length === 1, () => 'the first delivery');
    // Another member keeps the group alive while the first one is away.
    const other = await member(`$share/g/${base}/+`);
    first.end(true);
    await waitFor(() => broker().stats().clients === 2, () => 'the broker to notice the member left');

    const again = await clients.connect(broker().url, { clientId, clean: false });
    const got = collect(again);
    await waitFor(() => got.length === 1, () => 'the redelivery');
    expect(got[0]).toMatchObject({ topic: `${base}/s0`, payload: 'in flight' });
    expect(other.got).toEqual([]);
  });
});
