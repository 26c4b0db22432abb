/**
 * The queues of persistent sessions over LevelDB, with one write of a message's payload instead of three.
 *
 * aedes-persistence-level 9.2 (asyncPersistence.js) keeps a QoS 1/2 message to a persistent session
 * under two keys: the queued copy, `outgoing:<client>:<brokerId>:<counter>`, written when aedes queues
 * it, and the in-flight copy, `outgoing-id:<client>:<messageId>`, written when aedes sends it. Sending
 * reads the queued copy back (to delete the in-flight copy of an earlier send, whose message id it
 * holds) and writes the whole packet twice more: the in-flight copy, and the queued copy again with
 * its message id. The PUBACK reads the in-flight copy back to find the queued one, and deletes both. A
 * 12 KB frame to a durable edge thus cost 36 KB of LevelDB writes and two reads, each a round trip
 * to the thread pool: most of what a durable broker spent per frame (docs/performance.md).
 *
 * `LeanLevelPersistence` knows each session's in-flight keys (read once per client id, at its first
 * use after start) and which queued copies exist. Sending a message whose queued copy it knows
 * writes the in-flight key only, holding a reference (brokerId, brokerCounter, messageId: the fields
 * aedes-persistence-level's readers take from an in-flight copy) instead of the packet, and deletes
 * the in-flight key of the message's earlier send in the same batch. A PUBACK deletes both keys in
 * one batch, without a read. The queue as `outgoingStream` gives it carries each message's last
 * message id, taken from the in-flight keys, as the library's does (aedes sends it again with that id,
 * MQTT 3.1.1 §4.4). Where it does not know the queued copy (past `queuedKeys`, or a PUBREL, which
 * the queued copy becomes under QoS 2) the library's own path runs. A broker of an earlier version
 * opening the same directory reads a reference as an in-flight copy whose packet is the queued one.
 *
 * In memory: the keys of known queued copies (`queuedKeys`, oldest forgotten first); one entry per
 * persistent session and per message sent and not yet acknowledged (a clean session's entry goes
 * when nothing of its id is in flight); the packets in flight, for aedes' 'ack' event (`packetBytes`
 * of payload; past that a PUBACK reads the queued copy back).
 */
import { Readable } from 'node:stream';
import msgpack from 'msgpack-lite';
import { CallBackPersistence } from 'aedes-persistence/callBackPersistence.js';
import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js';
import type { AedesPublishPacket, Client } from 'aedes';
import type { AsyncPersistence } from './persistence.ts';

type Op = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string };

/** The part of the LevelDB handle used here (abstract-level 3, values as Buffers). */
export interface OutgoingDb {
  get(key: string): Promise<Buffer | undefined>;
  batch(ops: Op[]): Promise<void>;
  iterator(range: { gte: string; lt: string }): AsyncIterable<[string, Buffer]>;
}

export interface LeanOutgoingLimits {
  /** queued copies known to exist (the oldest forgotten first); default 65,536 */
  queuedKeys?: number;
  /** payload bytes of in-flight packets kept for the PUBACK's 'ack' event; default 16 MiB */
  packetBytes?: number;
}

const DEFAULT_QUEUED_KEYS = 65_536;
const DEFAULT_PACKET_BYTES = 16 * 1024 * 1024;
const IN_FLIGHT = 'outgoing-id:';

/** aedes-persistence-level's keys (asyncPersistence.js outgoingKey, outgoingByIdKey, padId). */
export function queuedKey(clientId: string, brokerId: string, brokerCounter: number): string {
  return `outgoing:${encodeURIComponent(clientId)}:${brokerId}:${padId(brokerCounter)}`;
}
export function inFlightKey(clientId: string, messageId: number): string {
  return `${IN_FLIGHT}${encodeURIComponent(clientId)}:${padId(messageId)}`;
}
function padId(id: number): string {
  return String(id).padStart(16, '0');
}

/** What an in-flight key holds: a packet (the library's), or a reference to the queued copy (ours). */
interface Stored { cmd?: string; brokerId: string; brokerCounter: number; messageId?: number }

/** A LevelDB store for aedes: aedes-persistence-level's, with the leaner queue above. */
export function leanLevelPersistence(db: OutgoingDb, limits: LeanOutgoingLimits = {}): AsyncPersistence {
  return new CallBackPersistence(() => new LeanLevelPersistence(db, limits), db) as unknown as AsyncPersistence;
}

/** One client's in-flight keys: message id -> queued key, and the id each queued key was last sent with. */
interface Sent { byId: Map<number, string>; lastId: Map<string, number> }

export class LeanLevelPersistence extends AsyncLevelPersistence {
  readonly #db: OutgoingDb;
  readonly #limits: Required<LeanOutgoingLimits>;
  /** Queued copies known to exist (insertion order, bounded). */
  readonly #queued = new Set<string>();
  /** Each client's in-flight keys, read from the database at its first use. */
  readonly #sent = new Map<string, Promise<Sent>>();
  /** queued key -> the packet in flight (for the PUBACK's return), and their payload bytes. */
  readonly #packets = new Map<string, AedesPublishPacket>();
  #packetBytes = 0;

  constructor(db: OutgoingDb, limits: LeanOutgoingLimits = {}) {
    super(db);
    this.#db = db;
    this.#limits = { queuedKeys: limits.queuedKeys ?? DEFAULT_QUEUED_KEYS, packetBytes: limits.packetBytes ?? DEFAULT_PACKET_BYTES };
  }

  /** aedes-persistence-level's outgoingEnqueueCombi queues through this too. */
  override async outgoingEnqueue(sub: { clientId: string }, packet: AedesPublishPacket): Promise<void> {
    await super.outgoingEnqueue(sub, packet);
    this.#remember(queuedKey(sub.clientId, packet.brokerId, packet.brokerCounter));
  }

  override async outgoingUpdate(client: Client, packet: AedesPublishPacket): Promise<void> {
    const sent = await this.#sentOf(client.id);
    const messageId = packet.messageId!;
    const key = queuedKey(client.id, packet.brokerId, packet.brokerCounter);
    const lean = packet.cmd === 'publish' && !!packet.brokerId && this.#queued.has(key);
    // Otherwise the library's path: it reads the queued copy (failing with 'no such packet' without
    // one, or finding a PUBREL's brokerId), writes both copies, and deletes the in-flight key the
    // queued copy names; an earlier send it cannot see (a reference) is deleted below.
    if (!lean) await super.outgoingUpdate(client, packet);
    const earlier = earlierSend(sent, key, messageId);
    const ops: Op[] = earlier === undefined ? [] : [{ type: 'del', key: inFlightKey(client.id, earlier) }];
    if (lean) {
      const reference: Stored = { brokerId: packet.brokerId, brokerCounter: packet.brokerCounter, messageId };
      ops.push({ type: 'put', key: inFlightKey(client.id, messageId), value: msgpack.encode(reference) });
    }
    if (ops.length > 0) await this.#db.batch(ops);
    link(sent, messageId, key);
    if (lean) this.#keepPacket(key, packet);
    else this.#remember(key);
  }

  override async outgoingClearMessageId(client: Client, packet: AedesPublishPacket): Promise<AedesPublishPacket | undefined> {
    // A clean session's messages are never stored (aedes lib/client.js deliverQoS): what an earlier
    // session of its id left is read when aedes sends that queue (connect.js emptyQueue), not here.
    const pending = client.clean === true ? this.#sent.get(client.id) : this.#sentOf(client.id);
    if (pending === undefined) return undefined;
    const sent = await pending;
    const messageId = packet.messageId!;
    const key = sent.byId.get(messageId);
    if (key === undefined) return undefined;
    // The packet sent, for aedes' 'ack' event: kept, else the queued copy, read before it goes.
    const acked = this.#packets.get(key) ?? (await this.#readPacket(key, messageId));
    await this.#db.batch([{ type: 'del', key: inFlightKey(client.id, messageId) }, { type: 'del', key }]);
    sent.byId.delete(messageId);
    if (sent.lastId.get(key) === messageId) sent.lastId.delete(key);
    this.#queued.delete(key);
    this.#dropPacket(key);
    this.#forgetClean(client, sent);
    return acked;
  }

  /** The queue, each message with the id it was last sent with (aedes lib/qos-packet.js sends it again with it). */
  override outgoingStream(client: Client): Readable {
    return Readable.from(this.#queue(client));
  }

  async *#queue(client: Client): AsyncGenerator<AedesPublishPacket> {
    const sent = await this.#sentOf(client.id);
    for await (const packet of super.outgoingStream(client) as AsyncIterable<AedesPublishPacket>) {
      const key = queuedKey(client.id, packet.brokerId, packet.brokerCounter);
      this.#remember(key);
      const messageId = sent.lastId.get(key);
      if (messageId !== undefined) packet.messageId = messageId;
      yield packet;
    }
    this.#forgetClean(client, sent);
  }

  /** A clean session keeps no entry once nothing of its id is in flight: client ids may be random. */
  #forgetClean(client: Client, sent: Sent): void {
    if (client.clean === true && sent.byId.size === 0 && this.#sent.get(client.id) !== undefined) this.#sent.delete(client.id);
  }

  /** The client's in-flight keys: read from the database once, then kept in step with it. */
  #sentOf(clientId: string): Promise<Sent> {
    let sent = this.#sent.get(clientId);
    if (sent === undefined) {
      const reading = this.#readSent(clientId);
      // A read that failed is tried again by the next call, not kept.
      reading.catch(() => { if (this.#sent.get(clientId) === reading) this.#sent.delete(clientId); });
      this.#sent.set(clientId, (sent = reading));
    }
    return sent;
  }

  async #readSent(clientId: string): Promise<Sent> {
    const sent: Sent = { byId: new Map(), lastId: new Map() };
    const prefix = `${IN_FLIGHT}${encodeURIComponent(clientId)}:`;
    // Keys sort by message id (padded), so a queued key in several takes the highest: what a restart
    // leaves only when ids wrapped past 65,535 with the message still unacknowledged.
    for await (const [idKey, value] of this.#db.iterator({ gte: prefix, lt: `${prefix.slice(0, -1)};` })) {
      const stored = msgpack.decode(value) as Stored;
      link(sent, Number(idKey.slice(prefix.length)), queuedKey(clientId, stored.brokerId, stored.brokerCounter));
    }
    return sent;
  }

  #remember(key: string): void {
    this.#queued.delete(key);
    this.#queued.add(key);
    if (this.#queued.size > this.#limits.queuedKeys) this.#queued.delete(this.#queued.values().next().value!);
  }

  #keepPacket(key: string, packet: AedesPublishPacket): void {
    this.#dropPacket(key);
    this.#packets.set(key, packet);
    this.#packetBytes += packet.payload.length;
    for (const [oldest, kept] of this.#packets) {
      if (this.#packetBytes <= this.#limits.packetBytes) break;
      this.#packets.delete(oldest);
      this.#packetBytes -= kept.payload.length;
    }
  }

  #dropPacket(key: string): void {
    const kept = this.#packets.get(key);
    if (kept === undefined) return;
    this.#packets.delete(key);
    this.#packetBytes -= kept.payload.length;
  }

  /** The queued copy of `key` as the packet sent with `messageId`; undefined when it is gone. */
  async #readPacket(key: string, messageId: number): Promise<AedesPublishPacket | undefined> {
    const blob = await this.#db.get(key);
    if (blob === undefined) return undefined;
    const queued = msgpack.decode(blob) as AedesPublishPacket;
    queued.messageId = messageId;
    return queued;
  }
}

/** The id `key` was last sent with, when its in-flight key is still its own and another send replaces it. */
function earlierSend(sent: Sent, key: string, messageId: number): number | undefined {
  const earlier = sent.lastId.get(key);
  return earlier !== undefined && earlier !== messageId && sent.byId.get(earlier) === key ? earlier : undefined;
}

/** `messageId`'s in-flight key now names `key` (the put that says so has landed). */
function link(sent: Sent, messageId: number, key: string): void {
  const earlier = earlierSend(sent, key, messageId);
  if (earlier !== undefined) sent.byId.delete(earlier);
  sent.byId.set(messageId, key);
  sent.lastId.set(key, messageId);
}
