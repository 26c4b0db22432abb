/**
 * Persistent sessions on shared subscriptions, in memory and in LevelDB across a broker restart:
 * QoS 1 messages published while a group's persistent members are away wait in one member's queue
 * (round-robin; a connected member first), the publisher's PUBACK comes after the message is
 * queued, a LevelDB directory holds one broker at a time, and every QoS 1 message reaches the
 * connected persistent sessions it is for however fast messages come.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { startBroker, type BrokerHandle } from '../../../broker/index.ts';
import { isDynasplitError } from '../../../common/index.ts';
import { PacketReader } from '../../helpers/raw-mqtt.ts';
import { Clients, collect, uniqueTopic, waitFor, type Received } from './helpers.ts';

/** MQTT control packet type of a PUBACK (the first byte's high nibble). */
const PUBACK = 4;

/** A message id provider that always gives `id` (one QoS 1 publish in flight at a time). */
function fixedMessageId(id: number): NonNullable<IClientOptions['messageIdProvider']> {
  let last: number | null = null;
  return {
    allocate: () => (last = id),
    getLastAllocated: () => last,
    register: () => true,
    deallocate: () => undefined,
    clear: () => { last = null; },
  };
}

const clients = new Clients();
afterEach(() => clients.endAll());

/** A broker on 127.0.0.1:0, in memory or over `dir`, closed after the test. */
async function broker(dir?: string): Promise<BrokerHandle> {
  const handle = await startBroker({ host: '127.0.0.1', port: 0, persistence: dir === undefined ? undefined : { dir } });
  onTestFinished(() => handle.close());
  return handle;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dynasplit-sessions-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A persistent-session member of `filter` (a `$share/...` filter) that then leaves; resolves once the broker has seen it go. */
async function awayMember(handle: BrokerHandle, clientId: string, filter: string): Promise<void> {
  const before = handle.stats().shared.away;
  const client = await clients.connect(handle.url, { clientId, clean: false });
  await client.subscribeAsync(filter, { qos: 1 });
  await client.endAsync();
  await waitFor(() => handle.stats().shared.away === before + 1, () => `${clientId} to be away (${JSON.stringify(handle.stats().shared)})`);
}

/** Publishes `from`..`to`-1 at QoS 1, each awaited: resolved means PUBACKed. */
async function publishRange(publisher: MqttClient, base: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) await publisher.publishAsync(`${base}/s${i % 3}`, String(i), { qos: 1 });
}

/** `i` padded with spaces to 16 KiB: writes that long finish out of order in LevelDB. */
function frame(i: number): string {
  return String(i).padEnd(16_384);
}

function payloads(...lists: Received[][]): number[] {
  return lists.flat().map((m) => Number(m.payload)).sort((a, b) => a - b);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

function ids(base: string, ...names: string[]): string[] {
  return names.map((name) => `${name}-${base.split('/').pop()}`);
}

describe('shared subscriptions with persistent sessions', () => {
  it('queues QoS 1 messages for a member away with its session, and delivers them when it is back', async () => {
    const b = await broker();
    const base = uniqueTopic('away');
    const [member] = ids(base, 'edge');
    await awayMember(b, member!, `$share/g/${base}/+`);
    const publisher = await clients.connect(b.url);
    await publishRange(publisher, base, 0, 20);
    expect(b.stats().shared.queued).toBe(20);

    const back = await clients.connectCollecting(b.url, { clientId: member, clean: false });
    await waitFor(() => back.got.length >= 20, () => `20 queued messages (got ${back.got.length})`);
    expect(payloads(back.got)).toEqual(range(0, 20));
    // Back in the group: later messages reach it live.
    await publishRange(publisher, base, 20, 25);
    await waitFor(() => back.got.length >= 25, () => `5 live messages (got ${back.got.length})`);
    expect(payloads(back.got)).toEqual(range(0, 25));
  });

  it('round-robins among away members', async () => {
    const b = await broker();
    const base = uniqueTopic('rr');
    const [x, y] = ids(base, 'x', 'y');
    await awayMember(b, x!, `$share/g/${base}/+`);
    await awayMember(b, y!, `$share/g/${base}/+`);
    const publisher = await clients.connect(b.url);
    await publishRange(publisher, base, 0, 20);

    const gx = await clients.connectCollecting(b.url, { clientId: x, clean: false });
    const gy = await clients.connectCollecting(b.url, { clientId: y, clean: false });
    await waitFor(() => gx.got.length + gy.got.length >= 20, () => `20 messages (x ${gx.got.length}, y ${gy.got.length})`);
    expect(payloads(gx.got, gy.got)).toEqual(range(0, 20));
    expect([gx.got.length, gy.got.length]).toEqual([10, 10]);
  });

  it('prefers a connected member to away ones', async () => {
    const b = await broker();
    const base = uniqueTopic('prefer');
    const [away, online] = ids(base, 'away', 'online');
    await awayMember(b, away!, `$share/g/${base}/+`);
    const connected = await clients.connect(b.url, { clientId: online, clean: false });
    const got = collect(connected);
    await connected.subscribeAsync(`$share/g/${base}/+`, { qos: 1 });
    const publisher = await clients.connect(b.url);
    await publishRange(publisher, base, 0, 20);
    await waitFor(() => got.length >= 20, () => `20 messages for the connected member (got ${got.length})`);
    expect(b.stats().shared.queued).toBe(0);

    // Nothing waits for the away member: back, it gets only its share of what comes next.
    const back = await clients.connectCollecting(b.url, { clientId: away, clean: false });
    await publishRange(publisher, base, 20, 30);
    await waitFor(() => got.length + back.got.length >= 30, () => `30 messages (${got.length} + ${back.got.length})`);
    expect(payloads(got, back.got)).toEqual(range(0, 30));
    expect(back.got.every((m) => Number(m.payload) >= 20)).toBe(true);
  });

  it('queues nothing for clean-session members, nor for a session ended by a clean CONNECT or an UNSUBSCRIBE', async () => {
    const b = await broker();
    const base = uniqueTopic('clean');
    const filter = `$share/g/${base}/+`;
    const [cleanId, endedId, leftId] = ids(base, 'clean', 'ended', 'left');
    const cleanMember = await clients.connect(b.url, { clientId: cleanId, clean: true });
    await cleanMember.subscribeAsync(filter, { qos: 1 });
    await cleanMember.endAsync();

    await awayMember(b, endedId!, filter);
    const ended = await clients.connect(b.url, { clientId: endedId, clean: true });
    await ended.endAsync();

    const left = await clients.connect(b.url, { clientId: leftId, clean: false });
    await left.subscribeAsync(filter, { qos: 1 });
    await left.unsubscribeAsync(filter);
    await left.endAsync();

    await waitFor(() => b.stats().clients === 0, () => 'every member to be gone');
    expect(b.stats().shared).toMatchObject({ away: 0, members: 0 });
    const publisher = await clients.connect(b.url);
    await publishRange(publisher, base, 0, 5);
    expect(b.stats().shared.queued).toBe(0);
  });

  it('sends the PUBACK only once the message is in the away member\'s queue', async () => {
    const b = await broker();
    const base = uniqueTopic('ack');
    const [member] = ids(base, 'edge');
    await awayMember(b, member!, `$share/g/${base}/+`);
    // The order of what the broker does, as it does it: the queue write entered and finished, and
    // the PUBACK written to the publisher's connection (seen on the broker's side of it, so no
    // wait is needed to know it has not been sent).
    const events: string[] = [];
    const publisherId = `${base}-publisher`;
    b.aedes.on('client', (client) => {
      if (client.id !== publisherId) return;
      const conn = (client as unknown as { conn: { write: (chunk: unknown, ...rest: unknown[]) => boolean } }).conn;
      const write = conn.write.bind(conn);
      // Whole packets, in whatever chunks they are written: mqtt-packet writes a PUBACK's message id
      // apart from its header, and an id's first byte can look like a header.
      const packets = new PacketReader();
      conn.write = (chunk, ...rest) => {
        if (chunk instanceof Uint8Array) {
          for (const p of packets.push(Buffer.from(chunk))) if (p.type === PUBACK) events.push('puback');
        }
        return write(chunk, ...rest);
      };
    });
    // Hold the queue write (aedes' enqueueOffline step) until released.
    const persistence = (b.aedes as unknown as { persistence: { outgoingEnqueueCombi: (...args: unknown[]) => Promise<unknown> } }).persistence;
    const enqueue = persistence.outgoingEnqueueCombi.bind(persistence);
    let release!: () => void;
    const released = new Promise<void>((resolve) => { release = resolve; });
    let entered!: () => void;
    const storing = new Promise<void>((resolve) => { entered = resolve; });
    persistence.outgoingEnqueueCombi = async (...args) => {
      events.push('store');
      entered();
      await released;
      const result = await enqueue(...args);
      events.push('stored');
      return result;
    };

    // A message id whose first byte reads as a PUBACK header (0x4_): mqtt-packet writes it apart from
    // the header, and a check of each chunk's first byte counted that PUBACK twice.
    const publisher = await clients.connect(b.url, { clientId: publisherId, messageIdProvider: fixedMessageId(0x4123) });
    const acked = publisher.publishAsync(`${base}/s0`, 'held', { qos: 1 });
    await storing;
    expect(events).toEqual(['store']);
    release();
    await acked;
    expect(events).toEqual(['store', 'stored', 'puback']);

    const back = await clients.connectCollecting(b.url, { clientId: member, clean: false });
    await waitFor(() => back.got.length === 1, () => 'the queued message');
    expect(back.got[0]).toMatchObject({ topic: `${base}/s0`, payload: 'held' });
  });
});

describe('LevelDB persistence (persistence: { dir })', () => {
  it('keeps queued messages and away members across a restart on the same directory', async () => {
    const dir = tempDir();
    const base = uniqueTopic('restart');
    const [member] = ids(base, 'edge');
    const first = await broker(dir);
    await awayMember(first, member!, `$share/g/${base}/+`);
    await publishRange(await clients.connect(first.url), base, 0, 10);
    await first.close();

    const second = await broker(dir);
    // Known from the store before the member is back, so what comes now is queued for it too.
    expect(second.stats().shared).toMatchObject({ away: 1, members: 0 });
    const publisher = await clients.connect(second.url);
    await publishRange(publisher, base, 10, 20);
    expect(second.stats().shared.queued).toBe(10);

    const back = await clients.connectCollecting(second.url, { clientId: member, clean: false });
    await waitFor(() => back.got.length >= 20, () => `20 messages across the restart (got ${back.got.length})`);
    expect(payloads(back.got)).toEqual(range(0, 20));
    await publishRange(publisher, base, 20, 23);
    await waitFor(() => back.got.length >= 23, () => `3 live messages (got ${back.got.length})`);
    expect(payloads(back.got)).toEqual(range(0, 23));
  });

  it('keeps retained messages across a restart', async () => {
    const dir = tempDir();
    const topic = `${uniqueTopic('retained')}/policy`;
    const first = await broker(dir);
    const publisher = await clients.connect(first.url);
    await publisher.publishAsync(topic, 'v1', { qos: 1, retain: true });
    await first.close();

    const second = await broker(dir);
    const reader = await clients.connect(second.url);
    const got = collect(reader);
    await reader.subscribeAsync(topic, { qos: 1 });
    await waitFor(() => got.length === 1, () => 'the retained message');
    expect(got[0]).toMatchObject({ payload: 'v1', retain: true });
  });

  it('delivers every QoS 1 message published at once to connected persistent sessions, plain and shared', async () => {
    // Each message is written to both sessions' queues before it is routed, and LevelDB finishes
    // those writes in any order; aedes used to drop a message routed after a later one (see
    // broker/delivery-dedupe.ts).
    const b = await broker(tempDir());
    const base = uniqueTopic('burst');
    const [plainId, memberId] = ids(base, 'plain', 'member');
    const plain = await clients.connect(b.url, { clientId: plainId, clean: false });
    const plainGot = collect(plain);
    await plain.subscribeAsync(`${base}/+`, { qos: 1 });
    const member = await clients.connect(b.url, { clientId: memberId, clean: false });
    const memberGot = collect(member);
    await member.subscribeAsync(`$share/g/${base}/+`, { qos: 1 });

    const n = 500;
    const publishers = [await clients.connect(b.url), await clients.connect(b.url)];
    await Promise.all(range(0, n).map((i) => publishers[i % 2]!.publishAsync(`${base}/s${i % 3}`, frame(i), { qos: 1 })));
    await waitFor(() => plainGot.length >= n && memberGot.length >= n,
      () => `${n} messages each (plain ${plainGot.length}, shared ${memberGot.length})`, 10_000);
    expect(payloads(plainGot)).toEqual(range(0, n));
    expect(payloads(memberGot)).toEqual(range(0, n));
  });

  it('delivers every QoS 1 message to a persistent session that handles them slowly', async () => {
    const b = await broker(tempDir());
    const base = uniqueTopic('slow');
    const [slowId] = ids(base, 'slow');
    const slow = await clients.connect(b.url, { clientId: slowId, clean: false });
    const got: number[] = [];
    // mqtt.js sends the PUBACK, and reads the next packet, when handleMessage calls back.
    slow.handleMessage = (packet, callback) => {
      got.push(Number(packet.payload.toString()));
      setTimeout(callback, 2);
    };
    await slow.subscribeAsync(`${base}/+`, { qos: 1 });

    const n = 300;
    const publisher = await clients.connect(b.url);
    await Promise.all(range(0, n).map((i) => publisher.publishAsync(`${base}/s${i % 3}`, frame(i), { qos: 1 })));
    await waitFor(() => got.length >= n, () => `${n} messages (got ${got.length})`);
    expect([...got].sort((x, y) => x - y)).toEqual(range(0, n));
  });

  it('refuses a second broker on a directory in use with DYNASPLIT_ERR_TRANSPORT, and frees it on close', async () => {
    const dir = tempDir();
    const first = await broker(dir);
    const err = await startBroker({ host: '127.0.0.1', port: 0, persistence: { dir } }).then(
      async (unexpected) => { await unexpected.close(); return undefined; },
      (e: unknown) => e,
    );
    expect(isDynasplitError(err, 'DYNASPLIT_ERR_TRANSPORT'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/in use by another broker/);
    expect((err as { details: unknown }).details).toMatchObject({ persistenceDir: dir, locked: true });
    // The first one is unaffected.
    const client = await clients.connect(first.url);
    await client.publishAsync(`${uniqueTopic('locked')}/x`, 'still here', { qos: 1 });

    await first.close();
    const again = await broker(dir);
    expect(again.stats().clients).toBe(0);
  });
});
