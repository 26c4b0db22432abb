import { createHash, randomBytes } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { pino } from 'pino';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { startBroker, type BrokerHandle, type BrokerOptions } from '../../../broker/index.ts';
import { isDynasplitError } from '../../../common/index.ts';
import { closed, collect, uniqueTopic, useBroker, waitFor } from './helpers.ts';

const { broker, clients } = useBroker({ wsPort: 0 });

/** A broker of its own for one test, closed when the test ends. */
async function ownBroker(options: Partial<BrokerOptions> = {}): Promise<BrokerHandle> {
  const handle = await startBroker({ host: '127.0.0.1', port: 0, ...options });
  onTestFinished(() => handle.close());
  return handle;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('broker', () => {
  it('listens on ephemeral ports and reports its URLs', () => {
    const handle = broker();
    expect(handle.tcpPort).toBeGreaterThan(0);
    expect(handle.wsPort).toBeGreaterThan(0);
    expect(handle.url).toBe(`mqtt://127.0.0.1:${handle.tcpPort}`);
    expect(handle.wsUrl).toBe(`ws://127.0.0.1:${handle.wsPort}/mqtt`);
  });

  it('routes QoS 0 and QoS 1 messages to subscribers', async () => {
    const topic = uniqueTopic('qos');
    const sub = await clients.connect(broker().url);
    const got = collect(sub);
    await sub.subscribeAsync(`${topic}/#`, { qos: 1 });
    const pub = await clients.connect(broker().url);
    await pub.publishAsync(`${topic}/zero`, 'q0', { qos: 0 });
    await pub.publishAsync(`${topic}/one`, 'q1', { qos: 1 });

    await waitFor(() => got.length === 2, () => `2 messages (got ${got.length})`);
    expect(got).toEqual([
      { topic: `${topic}/zero`, payload: 'q0', retain: false },
      { topic: `${topic}/one`, payload: 'q1', retain: false },
    ]);
  });

  it('keeps a retained message for later subscribers', async () => {
    const topic = uniqueTopic('retained');
    const pub = await clients.connect(broker().url);
    await pub.publishAsync(topic, 'policy v1', { qos: 1, retain: true });
    const sub = await clients.connect(broker().url);
    const got = collect(sub);
    await sub.subscribeAsync(topic, { qos: 1 });

    await waitFor(() => got.length === 1, () => 'the retained message');
    expect(got[0]).toEqual({ topic, payload: 'policy v1', retain: true });
  });

  it('serves MQTT over WebSocket alongside TCP', async () => {
    const topic = uniqueTopic('ws');
    const wsClient = await clients.connect(broker().wsUrl!);
    const tcpClient = await clients.connect(broker().url);
    const wsGot = collect(wsClient);
    const tcpGot = collect(tcpClient);
    await wsClient.subscribeAsync(`${topic}/to-ws`, { qos: 1 });
    await tcpClient.subscribeAsync(`${topic}/to-tcp`, { qos: 1 });
    await tcpClient.publishAsync(`${topic}/to-ws`, 'hello ws', { qos: 1 });
    await wsClient.publishAsync(`${topic}/to-tcp`, 'hello tcp', { qos: 1 });

    await waitFor(() => wsGot.length === 1 && tcpGot.length === 1, () => 'one message each way');
    expect(wsGot[0].payload).toBe('hello ws');
    expect(tcpGot[0].payload).toBe('hello tcp');
  });

  it('carries a 13 MB payload at QoS 1 (a VGG16 cut tensor)', async () => {
    const topic = uniqueTopic('big');
    const payload = randomBytes(13 * 1000 * 1000);
    const sub = await clients.connect(broker().url);
    const received: Buffer[] = [];
    sub.on('message', (_topic, data) => received.push(data));
    await sub.subscribeAsync(topic, { qos: 1 });
    const pub = await clients.connect(broker().url);
    await pub.publishAsync(topic, payload, { qos: 1 });

    await waitFor(() => received.length === 1, () => 'the 13 MB message');
    expect(received[0].length).toBe(payload.length);
    expect(sha256(received[0])).toBe(sha256(payload));
  });

  it('closes a connection that sends a packet over maxPacketBytes, and only that one', async () => {
    const small = await ownBroker({ maxPacketBytes: 64 * 1024 });
    const topic = uniqueTopic('oversize');
    const sub = await clients.connect(small.url);
    const got = collect(sub);
    await sub.subscribeAsync(topic, { qos: 1 });
    const pub = await clients.connect(small.url);
    const cut = closed(pub);
    pub.publish(topic, Buffer.alloc(100 * 1024), { qos: 1 });
    await cut;

    expect(small.stats().oversized).toBe(1);
    const pub2 = await clients.connect(small.url);
    await pub2.publishAsync(topic, Buffer.alloc(32 * 1024), { qos: 1 });
    await waitFor(() => got.length === 1, () => 'the message under the limit');
    expect(got[0].payload.length).toBe(32 * 1024);
    expect(sub.connected).toBe(true);
  });

  it('refuses MQTT 5 clients (aedes 1.x speaks 3.1 and 3.1.1)', async () => {
    await expect(clients.connect(broker().url, { protocolVersion: 5 })).rejects.toThrow(/Unacceptable protocol version/);
    const v311 = await clients.connect(broker().url, { protocolVersion: 4 });
    expect(v311.connected).toBe(true);
  });

  it('cuts off a client that publishes to a reserved $share/ or $SYS/ topic', async () => {
    for (const topic of ['$share/g/x', '$SYS/x']) {
      const client = await clients.connect(broker().url);
      const cut = closed(client);
      client.publish(topic, 'nope', { qos: 1 });
      await cut;
    }
  });

  it('counts clients and published messages', async () => {
    const own = await ownBroker();
    const a = await clients.connect(own.url);
    await clients.connect(own.url);
    await a.publishAsync(uniqueTopic('stats'), 'x', { qos: 1 });
    await waitFor(() => own.stats().published === 1, () => 'the publish to be counted');
    expect(own.stats()).toMatchObject({ clients: 2, connections: 2, published: 1, oversized: 0 });
  });

  it('fails with DYNASPLIT_ERR_TRANSPORT when the port is taken', async () => {
    const err = await startBroker({ host: '127.0.0.1', port: broker().tcpPort }).catch((e: unknown) => e);
    expect(isDynasplitError(err, 'DYNASPLIT_ERR_TRANSPORT')).toBe(true);
  });

  it('closes gracefully: clients see the disconnect, close() twice is fine, the ports are freed', async () => {
    const own = await startBroker({ host: '127.0.0.1', port: 0, wsPort: 0 });
    const tcp = await clients.connect(own.url);
    const ws = await clients.connect(own.wsUrl!);
    const silent = netConnect(own.tcpPort, '127.0.0.1'); // connected, never sends CONNECT
    await new Promise((resolve) => silent.once('connect', resolve));
    const gone = [closed(tcp), closed(ws), new Promise((resolve) => silent.once('close', resolve))];

    const first = own.close();
    expect(own.close()).toBe(first);
    await first;
    await Promise.all(gone);
    await own.close();

    const again = await startBroker({ host: '127.0.0.1', port: own.tcpPort, wsPort: own.wsPort });
    await again.close();
  });
});

describe('client id takeover', () => {
  it('counts and names a connection that takes a connected client id over, not one that takes a free id', async () => {
    const logs: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
    const handle = await startBroker({ host: '127.0.0.1', port: 0 }, { logger });
    onTestFinished(() => handle.close());
    const id = `twin-${randomBytes(3).toString('hex')}`;
    const first = await clients.connect(handle.url, { clientId: id });
    const firstClosed = closed(first);
    await clients.connect(handle.url, { clientId: `${id}-other` });
    expect(handle.stats().takeovers).toBe(0);
    await clients.connect(handle.url, { clientId: id });
    await firstClosed;
    await vi.waitFor(() => expect(handle.stats().takeovers).toBe(1));
    const warned = logs.filter((l) => l.clientId === id && String(l.msg).includes('took this client id over'));
    expect(warned).toHaveLength(1);
  });
});
