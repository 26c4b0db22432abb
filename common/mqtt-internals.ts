/**
 * What dynasplit relies on of MQTT.js beyond its public API, in one place, and the check that keeps
 * it honest (as broker/aedes-internals.ts does for aedes).
 *
 * MQTT.js keeps each QoS 1/2 PUBLISH it sends in its outgoing store until the PUBACK, to send it
 * again after a reconnect. `MqttClient.prototype._storeAndSend` (build/lib/client.js, 5.16) stores
 * a deep copy of the packet (rfdc), payload included, only so that removing an MQTT 5 topic alias
 * from the stored packet (`_removeTopicAliasAndRecoverTopicName`) does not alter the packet being
 * written: for an 800 KB frame, an 800 KB allocation and copy per publish. A client that cannot use
 * topic aliases (below MQTT 5, as every dynasplit client: aedes 1.x refuses MQTT 5) has no alias to
 * remove and no properties to alter, so it stores a shallow copy that shares the payload. Neither
 * MQTT.js nor dynasplit writes into a payload once it is published: a publisher hands over a buffer
 * it no longer touches (a retransmission sends the stored packet's payload as it was).
 *
 * Guarded: the replacement is installed only while the stock `_storeAndSend` is, to the character
 * (whitespace aside), STOCK_STORE_AND_SEND below, the source it was written against; any other
 * MQTT.js keeps its own, and test/unit/common/mqtt-internals.test.ts fails so that the new source is
 * read before STOCK_STORE_AND_SEND is updated. `_storePacket`, the same copy for a publish made
 * while disconnected, is left as it is: that path is rare.
 *
 * MQTT.js reads the next incoming PUBLISH only once `handleMessage` has called back, and at that
 * moment sends a QoS 1 message's PUBACK (build/lib/handlers/publish.js, 5.16): a PUBACK that must
 * wait (a frame until the journal has flushed it) would stop the client reading. `queuePubacks`
 * lets such a PUBACK wait in a queue while the client reads on: the handler's PUBACK goes through
 * `_sendPacket`, which is wrapped on that one client to hold it. Guarded: only where the publish
 * handler still sends the PUBACK as STOCK_QOS1_PUBACK says (test/unit/common/held-acks.test.ts
 * pins it); anywhere else the caller falls back to the public way (./held-acks.ts).
 */
import { createRequire } from 'node:module';
import type { MqttClient } from 'mqtt';

/** MQTT.js 5.16's `_storeAndSend`, whitespace collapsed (`normalize`). */
export const STOCK_STORE_AND_SEND = [
  '_storeAndSend(packet, cb, cbStorePut) {',
  "this.log('storeAndSend :: store packet with cmd %s to outgoingStore', packet.cmd);",
  'let storePacket = packet; let err;',
  "if (storePacket.cmd === 'publish') {",
  'storePacket = (0, default_1.default)(packet);',
  'err = this._removeTopicAliasAndRecoverTopicName(storePacket);',
  'if (err) { return cb && cb(err); } }',
  'this.outgoingStore.put(storePacket, (err2) => {',
  'if (err2) { return cb && cb(err2); }',
  'cbStorePut(); this._writePacket(packet, cb); }); }',
].join(' ');

type Callback = (err?: Error) => void;
interface Packet { cmd: string; topic?: string | Buffer; payload?: unknown; properties?: object }

/** The members of an MqttClient that `_storeAndSend` uses; private in MQTT.js's types. */
interface ClientInternals {
  options: { protocolVersion?: number; autoUseTopicAlias?: boolean; autoAssignTopicAlias?: boolean; properties?: { topicAliasMaximum?: number } };
  outgoingStore: { put(packet: Packet, cb: (err?: Error) => void): unknown };
  _storeAndSend(packet: Packet, cb: Callback | undefined, cbStorePut: () => void): void;
  _removeTopicAliasAndRecoverTopicName(packet: Packet): Error | undefined;
  _writePacket(packet: Packet, cb: Callback | undefined): void;
}

/**
 * `_storeAndSend` without the deep copy of a PUBLISH: the same steps in the same order, on a shallow
 * copy (a pubrel is not copied by the stock one either).
 */
function storeAndSendSharingPayload(this: ClientInternals, packet: Packet, cb: Callback | undefined, cbStorePut: () => void): void {
  const storePacket = packet.cmd === 'publish' ? { ...packet } : packet;
  if (storePacket !== packet) {
    const err = this._removeTopicAliasAndRecoverTopicName(storePacket);
    if (err) return cb?.(err);
  }
  this.outgoingStore.put(storePacket, (err2) => {
    if (err2) return cb?.(err2);
    cbStorePut();
    this._writePacket(packet, cb);
  });
}

function normalize(source: string): string {
  return source.replace(/\s+/g, ' ').trim();
}

/** Whether `fn` is MQTT.js's `_storeAndSend` as read for STOCK_STORE_AND_SEND. */
export function isStockStoreAndSend(fn: unknown): boolean {
  return typeof fn === 'function' && normalize(Function.prototype.toString.call(fn)) === STOCK_STORE_AND_SEND;
}

/** Below MQTT 5 there are no topic aliases; MQTT 5 has them when either side may set one. */
function mayUseTopicAliases(options: ClientInternals['options']): boolean {
  return (options.protocolVersion ?? 4) >= 5 || options.autoUseTopicAlias === true || options.autoAssignTopicAlias === true
    || (options.properties?.topicAliasMaximum ?? 0) > 0;
}

/**
 * Makes `client` store its QoS 1/2 PUBLISH packets sharing their payload, before it sends anything.
 * Returns false, leaving the client as it was, for a client that may use topic aliases or an MQTT.js
 * whose `_storeAndSend` is not the one this was written against.
 */
export function shareStoredPayloads(client: MqttClient): boolean {
  const internals = client as unknown as ClientInternals;
  if (mayUseTopicAliases(internals.options ?? {})) return false;
  if (!isStockStoreAndSend(internals._storeAndSend)) return false;
  if (typeof internals._removeTopicAliasAndRecoverTopicName !== 'function' || typeof internals._writePacket !== 'function') return false;
  internals._storeAndSend = storeAndSendSharingPayload;
  return true;
}

/** Whether `client` stores PUBLISH packets sharing their payload (`shareStoredPayloads` took). */
export function sharesStoredPayloads(client: MqttClient): boolean {
  return (client as unknown as ClientInternals)._storeAndSend === storeAndSendSharingPayload;
}

/** MQTT.js 5.16's QoS 1 step in its publish handler, whitespace collapsed: the PUBACK, through `_sendPacket`, once handleMessage calls back. */
export const STOCK_QOS1_PUBACK = [
  'client.handleMessage(packet, (err) => {',
  'if (err) { return done && done(err); }',
  "client['_sendPacket']({ cmd: 'puback', messageId, reasonCode: code }, done); });",
].join(' ');

/** Whether `handler` (MQTT.js's publish handler) sends the QoS 1 PUBACK as STOCK_QOS1_PUBACK says. */
export function isStockPublishHandler(handler: unknown): boolean {
  return typeof handler === 'function' && normalize(Function.prototype.toString.call(handler)).includes(STOCK_QOS1_PUBACK);
}

/** The publish handler of the MQTT.js this process loads; undefined where it cannot be found. */
export function publishHandler(): unknown {
  try {
    return (createRequire(import.meta.url)('mqtt/lib/handlers/publish') as { default?: unknown }).default;
  } catch {
    return undefined;
  }
}

/** PUBACKs waiting for what they acknowledge: `hold` from the 'message' handler of a QoS 1 message. */
export interface PubackQueue {
  hold(messageId: number, until: Promise<unknown>): void;
}

interface AckPacket { cmd: string; messageId?: number }
interface SendInternals { _sendPacket(packet: AckPacket, cb?: Callback, ...rest: unknown[]): void }

/**
 * Makes `client` send each held PUBACK once its hold settles, in the order the messages came, and
 * read on meanwhile; a PUBACK behind a held one waits for it. A connection that closes drops the
 * queue: the broker sends those messages again. Returns undefined, leaving the client as it was,
 * where MQTT.js is not the one this was written against.
 */
export function queuePubacks(client: MqttClient): PubackQueue | undefined {
  const internals = client as unknown as SendInternals;
  const send = internals._sendPacket;
  if (typeof send !== 'function' || !isStockPublishHandler(publishHandler())) return undefined;
  const held = new Map<number, Promise<unknown>>();
  let queue: { packet: AckPacket; ready: boolean }[] = [];
  const drain = (): void => {
    while (queue[0]?.ready) send.call(client, queue.shift()!.packet);
  };
  internals._sendPacket = function sendOrHold(this: SendInternals, packet: AckPacket, cb?: Callback, ...rest: unknown[]): void {
    const until = packet.cmd === 'puback' && packet.messageId !== undefined ? held.get(packet.messageId) : undefined;
    if (packet.cmd !== 'puback' || (until === undefined && queue.length === 0)) return send.call(this, packet, cb, ...rest);
    held.delete(packet.messageId!);
    const entry = { packet, ready: until === undefined };
    queue.push(entry);
    const release = (): void => { entry.ready = true; drain(); };
    until?.then(release, release);
    // The handler's `done`: MQTT.js reads the next packet now, not when this PUBACK is written.
    cb?.();
  };
  client.on('close', () => {
    queue = [];
    held.clear();
  });
  return { hold: (messageId, until) => { held.set(messageId, until); } };
}
