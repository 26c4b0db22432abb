/**
 * PUBACKs held until what they acknowledge is safe (common/held-acks.ts), against a real broker that
 * reports every PUBACK it gets (aedes's 'ack'): none goes before its hold settles, they go in the
 * order the messages came, the client reads on meanwhile where it can (and one message at a time
 * where it cannot), and a connection that closes drops what it held, so the broker sends it again.
 * The first test fails when MQTT.js's publish handler changes: read the new source before updating
 * STOCK_QOS1_PUBACK.
 */
import type { IPublishPacket } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../../broker/index.ts';
import { connectMqtt, holdAcks, type AckHolder, type MqttClient } from '../../../common/index.ts';
import { isStockPublishHandler, publishHandler } from '../../../common/mqtt-internals.ts';

let broker: BrokerHandle;
let ids = 0;
/** Payloads the broker got a PUBACK for, per subscriber client id, in order (aedes names the message for a persistent session's). */
const acked = new Map<string, string[]>();
beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  broker.aedes.on('ack', (packet, client) => {
    if (packet?.cmd !== 'publish') return;
    acked.set(client.id, [...(acked.get(client.id) ?? []), String(packet.payload)]);
  });
});
afterAll(() => broker.close());

interface Holder {
  client: MqttClient;
  acks: AckHolder;
  /** Payloads as the 'message' handler saw them. */
  seen: string[];
  /** payload -> releases its hold */
  release: Map<string, () => void>;
  id: string;
}

/** A subscriber that holds every message's PUBACK until the test releases it. */
async function holder(topic: string, options: { readAhead?: boolean; id?: string } = {}): Promise<Holder> {
  const id = options.id ?? `held-acks-${process.pid}-${ids++}`;
  const seen: string[] = [];
  const release = new Map<string, () => void>();
  let acks!: AckHolder;
  const client = await connectMqtt(broker.url, {
    clientId: id,
    clean: false,
    prepare: (c) => {
      acks = holdAcks(c, { readAhead: options.readAhead });
      c.on('message', (_topic, payload, packet: IPublishPacket) => {
        seen.push(String(payload));
        acks.hold(packet, new Promise<void>((resolve) => release.set(String(payload), resolve)));
      });
    },
  });
  onTestFinished(() => client.endAsync(true));
  await client.subscribeAsync(topic, { qos: 1 });
  return { client, acks, seen, release, id };
}

async function publisher(): Promise<MqttClient> {
  const client = await connectMqtt(broker.url, { clientId: `held-acks-pub-${process.pid}-${ids++}` });
  onTestFinished(() => client.endAsync(true));
  return client;
}

const ackedBy = (h: Holder) => acked.get(h.id) ?? [];
/** A round trip through the broker: what was sent before it has been handled by the broker. */
const roundTrip = (client: MqttClient) => client.publishAsync(`held-acks/ping/${ids++}`, 'ping', { qos: 1 });

describe('held PUBACKs', () => {
  it('reads ahead only where MQTT.js is the one the PUBACK queue was written against', () => {
    expect(isStockPublishHandler(publishHandler())).toBe(true);
    expect(isStockPublishHandler(() => undefined)).toBe(false);
  });

  it('reads on while PUBACKs wait, and sends each once its hold settles, in the order the messages came', async () => {
    const topic = `held-acks/order/${ids++}`;
    const h = await holder(topic);
    expect(h.acks.readsAhead).toBe(true);
    const pub = await publisher();
    for (let i = 0; i < 5; i++) await pub.publishAsync(topic, `m${i}`, { qos: 1 });
    // All five are read although none is acknowledged.
    await vi.waitFor(() => expect(h.seen).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']));
    await roundTrip(h.client);
    expect(ackedBy(h)).toEqual([]);
    // Released out of order: a PUBACK waits for those before it.
    h.release.get('m2')!();
    h.release.get('m4')!();
    await roundTrip(h.client);
    expect(ackedBy(h)).toEqual([]);
    h.release.get('m0')!();
    await vi.waitFor(() => expect(ackedBy(h)).toEqual(['m0']));
    h.release.get('m1')!();
    await vi.waitFor(() => expect(ackedBy(h)).toEqual(['m0', 'm1', 'm2']));
    h.release.get('m3')!();
    await vi.waitFor(() => expect(ackedBy(h)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']));
  });

  it('a message whose PUBACK is not held is acknowledged at once, or behind the held ones before it', async () => {
    const topic = `held-acks/unheld/${ids++}`;
    const seen: string[] = [];
    let acks!: AckHolder;
    let hold: (() => void) | undefined;
    const id = `held-acks-${process.pid}-${ids++}`;
    const client = await connectMqtt(broker.url, {
      clientId: id,
      clean: false,
      prepare: (c) => {
        acks = holdAcks(c);
        c.on('message', (_topic, payload, packet: IPublishPacket) => {
          seen.push(String(payload));
          if (String(payload) === 'held') acks.hold(packet, new Promise<void>((resolve) => { hold = resolve; }));
        });
      },
    });
    onTestFinished(() => client.endAsync(true));
    await client.subscribeAsync(topic, { qos: 1 });
    const pub = await publisher();
    await pub.publishAsync(topic, 'free', { qos: 1 });
    await vi.waitFor(() => expect(acked.get(id)).toEqual(['free']));
    await pub.publishAsync(topic, 'held', { qos: 1 });
    await pub.publishAsync(topic, 'behind', { qos: 1 });
    await vi.waitFor(() => expect(seen).toEqual(['free', 'held', 'behind']));
    await roundTrip(client);
    expect(acked.get(id)).toEqual(['free']);
    hold!();
    await vi.waitFor(() => expect(acked.get(id)).toEqual(['free', 'held', 'behind']));
  });

  it('without reading ahead, takes one message at a time: the next is read once the PUBACK before it is sent', async () => {
    const topic = `held-acks/serial/${ids++}`;
    const h = await holder(topic, { readAhead: false });
    expect(h.acks.readsAhead).toBe(false);
    const pub = await publisher();
    for (let i = 0; i < 3; i++) await pub.publishAsync(topic, `m${i}`, { qos: 1 });
    await vi.waitFor(() => expect(h.seen).toEqual(['m0']));
    await roundTrip(pub);
    expect(h.seen).toEqual(['m0']);
    expect(ackedBy(h)).toEqual([]);
    h.release.get('m0')!();
    await vi.waitFor(() => expect(h.seen).toEqual(['m0', 'm1']));
    expect(ackedBy(h)).toEqual(['m0']);
    h.release.get('m1')!();
    await vi.waitFor(() => expect(h.seen).toEqual(['m0', 'm1', 'm2']));
    h.release.get('m2')!();
    await vi.waitFor(() => expect(ackedBy(h)).toEqual(['m0', 'm1', 'm2']));
  });

  it('a connection that closes drops the PUBACKs it held: the broker sends those messages again, and their holds are honoured then', async () => {
    const topic = `held-acks/close/${ids++}`;
    const h = await holder(topic);
    const pub = await publisher();
    await pub.publishAsync(topic, 'a', { qos: 1 });
    await pub.publishAsync(topic, 'b', { qos: 1 });
    await vi.waitFor(() => expect(h.seen).toEqual(['a', 'b']));
    const reconnected = new Promise((resolve) => h.client.once('connect', resolve));
    // The broker drops the connection; MQTT.js reconnects with the same (persistent) session.
    (broker.aedes as unknown as { clients: Record<string, { close(): void }> }).clients[h.id]!.close();
    // Released while the connection is down: nothing of the old connection is sent on the new one.
    h.release.get('a')!();
    await reconnected;
    await vi.waitFor(() => expect(h.seen).toEqual(['a', 'b', 'a', 'b']));
    await roundTrip(h.client);
    // 'a' again: held anew by the handler; nothing acknowledged yet.
    expect(ackedBy(h)).toEqual([]);
    h.release.get('a')!();
    h.release.get('b')!();
    await vi.waitFor(() => expect(ackedBy(h)).toEqual(['a', 'b']));
  });
});
