/**
 * The leaner queue of persistent sessions over LevelDB (broker/level-outgoing.ts), on a real LevelDB
 * directory: a send writes a reference and no second copy of the payload, a PUBACK deletes both keys
 * without a read, the queue carries each message's last id across a restart, a store written by
 * aedes-persistence-level itself is read, an earlier version reads what this one wrote, and past its
 * bound it takes the library's path and stays right. aedes-persistence's abstract suite runs over it
 * too (persistence-abstract.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AedesPublishPacket, Client } from 'aedes';
import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js';
import { Level } from 'level';
import msgpack from 'msgpack-lite';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { inFlightKey, LeanLevelPersistence, queuedKey } from '../../../broker/level-outgoing.ts';

const BROKER = { id: 'broker-1' };
const EDGE = { id: 'edge-1', clean: false } as Client;

/** A LevelDB directory, opened as broker/session-store.ts opens it; `reads` counts the gets and scans that reach it. */
async function openDb(dir = mkdtempSync(join(tmpdir(), 'dynasplit-outgoing-'))): Promise<{ db: Level<string, Buffer>; reads: () => number; dir: string }> {
  const db = new Level<string, Buffer>(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
  await db.open();
  onTestFinished(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const gets = vi.spyOn(db, 'get');
  const scans = vi.spyOn(db, 'iterator');
  return { db, reads: () => gets.mock.calls.length + scans.mock.calls.length, dir };
}

function message(counter: number, payload = `frame ${counter}`): AedesPublishPacket {
  return { cmd: 'publish', topic: 'dynasplit/v1/frames/s1', payload: Buffer.from(payload), qos: 1, retain: false, dup: false, brokerId: BROKER.id, brokerCounter: counter } as AedesPublishPacket;
}

function sent(packet: AedesPublishPacket, messageId: number): AedesPublishPacket {
  return { ...packet, messageId };
}

/** Queues message `counter` for the edge and sends it with `messageId`, as aedes does (enqueue, then update on delivery). */
async function queueAndSend(store: LeanLevelPersistence | AsyncLevelPersistence, counter: number, messageId: number): Promise<void> {
  await store.outgoingEnqueue({ clientId: EDGE.id }, message(counter));
  await store.outgoingUpdate(EDGE, sent(message(counter), messageId));
}

/** The PUBACK of `messageId` from `client`. */
async function puback(store: LeanLevelPersistence | AsyncLevelPersistence, messageId: number, client = EDGE): Promise<AedesPublishPacket | undefined> {
  return (await store.outgoingClearMessageId(client, { messageId } as AedesPublishPacket)) as AedesPublishPacket | undefined;
}

async function stored(db: Level<string, Buffer>, key: string): Promise<Record<string, unknown> | undefined> {
  const blob = await db.get(key);
  return blob === undefined ? undefined : (msgpack.decode(blob) as Record<string, unknown>);
}

async function outgoingKeys(db: Level<string, Buffer>): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of db.keys({ gte: 'outgoing', lt: 'outgoinh' })) keys.push(key);
  return keys;
}

async function queue(persistence: { outgoingStream(client: Client): AsyncIterable<unknown> }, client: Client): Promise<AedesPublishPacket[]> {
  const packets: AedesPublishPacket[] = [];
  for await (const packet of persistence.outgoingStream(client)) packets.push(packet as AedesPublishPacket);
  return packets;
}

describe('LeanLevelPersistence', () => {
  it('writes a send as a reference, not a second copy, and clears it on the PUBACK without a read', async () => {
    const { db, reads } = await openDb();
    const lean = new LeanLevelPersistence(db);
    await queue(lean, EDGE); // aedes reads the session's queue as it connects: its in-flight keys are read once, there
    const readsAtConnect = reads();
    await queueAndSend(lean, 1, 7);
    expect(reads()).toBe(readsAtConnect);

    expect(await stored(db, inFlightKey(EDGE.id, 7))).toEqual({ brokerId: BROKER.id, brokerCounter: 1, messageId: 7 });
    const queued = await stored(db, queuedKey(EDGE.id, BROKER.id, 1));
    expect(Buffer.from(queued!.payload as Uint8Array).toString()).toBe('frame 1');
    expect(queued!.messageId ?? undefined).toBeUndefined();

    const readsBefore = reads();
    const acked = await puback(lean, 7);
    expect(reads()).toBe(readsBefore);
    expect(acked).toMatchObject({ topic: 'dynasplit/v1/frames/s1', messageId: 7 });
    expect(String(acked!.payload)).toBe('frame 1');
    expect(await outgoingKeys(db)).toEqual([]);
  });

  it('replaces the in-flight key when a message is sent again with another id, and ignores a PUBACK for the old one', async () => {
    const { db } = await openDb();
    const lean = new LeanLevelPersistence(db);
    await queueAndSend(lean, 1, 7);
    await lean.outgoingUpdate(EDGE, sent(message(1), 9));
    expect(await outgoingKeys(db)).toEqual([inFlightKey(EDGE.id, 9), queuedKey(EDGE.id, BROKER.id, 1)]);
    expect((await queue(lean, EDGE)).map((p) => p.messageId)).toEqual([9]);

    expect(await puback(lean, 7)).toBeUndefined();
    expect(await outgoingKeys(db)).toHaveLength(2);
    await puback(lean, 9);
    expect(await outgoingKeys(db)).toEqual([]);
  });

  it('fails a send of a message that is not queued with the library\'s "no such packet"', async () => {
    const { db } = await openDb();
    const lean = new LeanLevelPersistence(db);
    await expect(lean.outgoingUpdate(EDGE, sent(message(3), 7))).rejects.toThrow('no such packet');
  });

  it('gives the queue after a restart with each message\'s last id, and clears a message sent before it', async () => {
    const first = await openDb();
    const before = new LeanLevelPersistence(first.db);
    for (const counter of [1, 2, 3]) await before.outgoingEnqueue({ clientId: EDGE.id }, message(counter));
    await before.outgoingUpdate(EDGE, sent(message(1), 7));
    await before.outgoingUpdate(EDGE, sent(message(2), 8));
    await puback(before, 8);
    await first.db.close();

    const again = await openDb(first.dir);
    const after = new LeanLevelPersistence(again.db);
    const replay = await queue(after, EDGE);
    expect(replay.map((p) => [p.brokerCounter, p.messageId ?? undefined])).toEqual([[1, 7], [3, undefined]]);

    // aedes sends the queue again with those ids (lib/qos-packet.js); 3 gets a new one.
    await after.outgoingUpdate(EDGE, sent(message(1), 7));
    await after.outgoingUpdate(EDGE, sent(message(3), 11));
    const acked = await puback(after, 7);
    expect(String(acked!.payload)).toBe('frame 1');
    await puback(after, 11);
    expect(await outgoingKeys(again.db)).toEqual([]);
  });

  it('answers a PUBACK of a message sent before a restart with the packet, read from its queued copy', async () => {
    const first = await openDb();
    const before = new LeanLevelPersistence(first.db);
    await queueAndSend(before, 1, 7);
    await first.db.close();

    const again = await openDb(first.dir);
    const after = new LeanLevelPersistence(again.db);
    const acked = await puback(after, 7);
    expect(acked).toMatchObject({ brokerCounter: 1, messageId: 7 });
    expect(String(acked!.payload)).toBe('frame 1');
    expect(await outgoingKeys(again.db)).toEqual([]);
  });

  it('reads a queue aedes-persistence-level wrote', async () => {
    const { db } = await openDb();
    const library = new AsyncLevelPersistence(db);
    await queueAndSend(library, 1, 7);

    const lean = new LeanLevelPersistence(db);
    expect((await queue(lean, EDGE)).map((p) => p.messageId)).toEqual([7]);
    await lean.outgoingUpdate(EDGE, sent(message(1), 9));
    expect(await outgoingKeys(db)).toEqual([inFlightKey(EDGE.id, 9), queuedKey(EDGE.id, BROKER.id, 1)]);
    const acked = await puback(lean, 9);
    expect(String(acked!.payload)).toBe('frame 1');
    expect(await outgoingKeys(db)).toEqual([]);
  });

  it('writes what aedes-persistence-level reads: its PUBACK clears a message this one sent', async () => {
    const { db } = await openDb();
    const lean = new LeanLevelPersistence(db);
    await queueAndSend(lean, 1, 7);

    const library = new AsyncLevelPersistence(db);
    expect(await puback(library, 7)).toMatchObject({ brokerCounter: 1 });
    expect(await outgoingKeys(db)).toEqual([]);
  });

  it('takes the library\'s path for a queued copy past its bound and still leaves nothing behind', async () => {
    const { db, reads } = await openDb();
    const lean = new LeanLevelPersistence(db, { queuedKeys: 1, packetBytes: 0 });
    await lean.outgoingEnqueue({ clientId: EDGE.id }, message(1));
    await lean.outgoingEnqueue({ clientId: EDGE.id }, message(2));
    await lean.outgoingUpdate(EDGE, sent(message(1), 7)); // forgotten: the library reads it and writes both copies
    expect((await stored(db, inFlightKey(EDGE.id, 7)))?.topic).toBe('dynasplit/v1/frames/s1');
    await lean.outgoingUpdate(EDGE, sent(message(1), 8)); // known again: a reference, and 7's key goes
    expect(await stored(db, inFlightKey(EDGE.id, 7))).toBeUndefined();
    await lean.outgoingUpdate(EDGE, sent(message(2), 9));
    const readsBefore = reads();
    for (const messageId of [8, 9]) {
      const acked = await puback(lean, messageId);
      expect(acked?.messageId).toBe(messageId); // packetBytes 0: read from the queued copy
    }
    expect(reads()).toBe(readsBefore + 2);
    expect(await outgoingKeys(db)).toEqual([]);
  });

  it('reads a session\'s in-flight keys again after a read of them failed', async () => {
    const { db } = await openDb();
    const lean = new LeanLevelPersistence(db);
    await lean.outgoingEnqueue({ clientId: EDGE.id }, message(1));
    vi.spyOn(db, 'iterator').mockImplementationOnce(() => { throw new Error('injected: read failed'); });
    await expect(lean.outgoingUpdate(EDGE, sent(message(1), 7))).rejects.toThrow('injected');
    await lean.outgoingUpdate(EDGE, sent(message(1), 7));
    await puback(lean, 7);
    expect(await outgoingKeys(db)).toEqual([]);
  });

  it('reads nothing for the PUBACK of a clean session, and clears what an earlier persistent session of its id left', async () => {
    const { db, reads } = await openDb();
    const lean = new LeanLevelPersistence(db);
    await lean.outgoingEnqueue({ clientId: 'sensor-1' }, message(1));
    const clean = { id: 'sensor-1', clean: true } as Client;
    expect(await puback(lean, 3, clean)).toBeUndefined();
    expect(reads()).toBe(0);

    // aedes sends a clean session the queue an earlier session left, and clears each (connect.js emptyQueue).
    const [left] = await queue(lean, clean);
    await lean.outgoingUpdate(clean, sent(left, 4));
    await puback(lean, 4, clean);
    expect(await outgoingKeys(db)).toEqual([]);
  });
});
