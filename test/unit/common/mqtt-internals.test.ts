/**
 * connectMqtt's clients store the QoS 1 PUBLISH packets they send sharing the payload instead of a
 * deep copy (common/mqtt-internals.ts), against a real broker: delivered once and intact, sent again
 * intact after a reconnect from the stored packet, and the stock behaviour wherever the override
 * does not apply. The first test fails when MQTT.js's `_storeAndSend` changes: read the new source
 * before updating STOCK_STORE_AND_SEND.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { MqttClient, type IClientOptions } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startBroker, type BrokerHandle } from '../../../broker/index.ts';
import { connectMqtt, type MqttConnectOptions } from '../../../common/index.ts';
import { isStockStoreAndSend, shareStoredPayloads, sharesStoredPayloads } from '../../../common/mqtt-internals.ts';

interface Packet { cmd: string; topic?: string; payload?: unknown }

let broker: BrokerHandle;
let ids = 0;
beforeAll(async () => { broker = await startBroker({ host: '127.0.0.1', port: 0 }); });
afterAll(() => broker.close());

async function connected(options: Partial<MqttConnectOptions> = {}): Promise<MqttClient> {
  const client = await connectMqtt(broker.url, { clientId: `internals-${process.pid}-${ids++}`, ...options });
  onTestFinished(() => client.endAsync(true));
  return client;
}

/** A client that never connects (no socket, no timer: nothing to end), to see what shareStoredPayloads does to it. */
function unconnected(options: IClientOptions): MqttClient {
  return mqtt.connect(broker.url, { manualConnect: true, ...options });
}

/** The packets `client` puts in its outgoing store, as they are put. */
function storedPackets(client: MqttClient): Packet[] {
  const stored: Packet[] = [];
  const store = client.outgoingStore as unknown as { put(packet: Packet, cb: () => void): unknown };
  const put = store.put.bind(store);
  store.put = (packet, cb) => { stored.push(packet); return put(packet, cb); };
  return stored;
}

/** A subscriber to `topic`: what it received, and a promise of the message `payload`. */
async function subscriber(topic: string): Promise<{ got: Buffer[]; receives(payload: Buffer): Promise<void> }> {
  const client = await connected();
  const got: Buffer[] = [];
  const waiting: { payload: Buffer; resolve: () => void }[] = [];
  client.on('message', (_topic, payload) => {
    got.push(payload);
    for (const w of waiting) if (w.payload.equals(payload)) w.resolve();
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return {
    got,
    receives: (payload) => new Promise((resolve) => {
      if (got.some((p) => p.equals(payload))) resolve();
      else waiting.push({ payload, resolve });
    }),
  };
}

describe('MQTT.js internals', () => {
  it('_storeAndSend is the one common/mqtt-internals.ts was written against (else read the new one first)', () => {
    const stock = (MqttClient.prototype as unknown as { _storeAndSend: unknown })._storeAndSend;
    expect(isStockStoreAndSend(stock)).toBe(true);
  });
});

describe('QoS 1 PUBLISH stored sharing its payload', () => {
  it('is how connectMqtt clients send: the stored packet holds the published Buffer, delivered once and intact', async () => {
    const topic = `test/internals/${randomBytes(4).toString('hex')}`;
    const sub = await subscriber(topic);
    const publisher = await connected();
    expect(sharesStoredPayloads(publisher)).toBe(true);
    const stored = storedPackets(publisher);
    // Below and above the size from which writes are flushed at once (common/coalesce-writes.ts).
    const payloads = [randomBytes(1024), randomBytes(100 * 1024)];
    for (const payload of payloads) await publisher.publishAsync(topic, payload, { qos: 1 });
    expect(stored.map((p) => p.payload)).toEqual(payloads);
    stored.forEach((p, i) => expect(p.payload).toBe(payloads[i]));
    // Published after the others by the same client, so received after them (MQTT 3.1.1 §4.6).
    const last = Buffer.from('last');
    await publisher.publishAsync(topic, last, { qos: 1 });
    await sub.receives(last);
    expect(sub.got).toEqual([...payloads, last]);
  });

  it('is sent again intact from the store after a reconnect, with a persistent session, and delivered once', async () => {
    const topic = `test/internals/${randomBytes(4).toString('hex')}`;
    const sub = await subscriber(topic);
    const publisher = await connected({ clean: false });
    const sent: Packet[] = [];
    publisher.on('packetsend', (packet: Packet) => { if (packet.cmd === 'publish') sent.push(packet); });
    const payload = randomBytes(1024);
    const acknowledged = new Promise<void>((resolve, reject) => {
      publisher.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve()));
    });
    // The PUBLISH is still corked in the socket (written at the end of this turn): destroying it now
    // loses this first send, and only the stored packet, sent again after the reconnect, can arrive.
    publisher.stream.destroy();
    await new Promise<void>((resolve) => publisher.once('connect', () => resolve()));
    await acknowledged;
    expect(sent).toHaveLength(2);
    expect(sent[1]).not.toBe(sent[0]);
    expect(sent[1]!.payload).toBe(payload);
    const last = Buffer.from('last');
    await publisher.publishAsync(topic, last, { qos: 1 });
    await sub.receives(last);
    expect(sub.got).toEqual([payload, last]);
  });

  it('is not set up for a client that may use MQTT 5 topic aliases, nor over another _storeAndSend', () => {
    for (const options of [{ protocolVersion: 5 }, { protocolVersion: 4, autoUseTopicAlias: true }, { protocolVersion: 5, properties: { topicAliasMaximum: 10 } }] as const) {
      const client = unconnected(options);
      expect(shareStoredPayloads(client)).toBe(false);
      expect(sharesStoredPayloads(client)).toBe(false);
    }
    const client = unconnected({ protocolVersion: 4 });
    const other = function _storeAndSend(): void {};
    (client as unknown as { _storeAndSend: unknown })._storeAndSend = other;
    expect(shareStoredPayloads(client)).toBe(false);
    expect((client as unknown as { _storeAndSend: unknown })._storeAndSend).toBe(other);
    expect(shareStoredPayloads(unconnected({ protocolVersion: 4 }))).toBe(true);
  });
});
