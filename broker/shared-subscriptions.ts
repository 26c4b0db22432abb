/**
 * MQTT shared subscriptions (`$share/GROUP/FILTER`, MQTT 5 §4.8.2) on top of aedes 1.x hooks, so the
 * clients that load-balance through Mosquitto do the same through our broker: each message that
 * matches FILTER goes to exactly one member of GROUP: a connected one, round-robin; when none is
 * connected and the message is QoS 1 or 2, the queue of a member whose persistent session is away.
 * The bookkeeping (groups, members, round-robin picks) is ./shared-groups.ts, without sockets;
 * this file answers aedes' questions with it.
 *
 * How it sits on aedes (read from aedes 1.2.0; files under node_modules/aedes):
 * - SUBSCRIBE: `authorizeSubscribe` sees `$share/g/F`, records the membership and returns a copy of
 *   the subscription with topic F. lib/handlers/subscribe.js then routes F (addSubs ->
 *   `client.subscriptions[F]` and an mqemitter listener; `routeQos`, ./aedes-internals.ts), so messages reach the member under their
 *   original topic, at the QoS granted to that route [MQTT-4.8.2-3]. The original object stays in the SUBSCRIBE packet, so a persistent session
 *   stores `$share/g/F` (storeSubscriptions) and its restore calls `authorizeSubscribe` again with
 *   it (lib/handlers/connect.js restoreSubs -> restoreTopicActions), which rejoins the group.
 *   Retained messages are looked up with the SUBSCRIBE packet's topics (subscribe.js
 *   completeSubscribe), i.e. `$share/g/F`, which matches none: a shared subscription gets no
 *   retained messages (subscribe plainly to a retained topic such as a policy).
 * - Delivery: mqemitter matches a message once and calls every matching listener in one
 *   synchronous loop (mqemitter.js `_do` -> fastparallel). Each listener runs `deliver0` (QoS 0) or
 *   `deliverQoS` (QoS 1/2) in lib/client.js; both call `authorizeForward(client, packet)`
 *   synchronously, before anything is written, and skip the client when it returns
 *   null. The first call for a packet picks the group's member (keyed by brokerId:brokerCounter,
 *   unique per published packet, aedes-packet), every later call of that loop reads the pick. A
 *   QoS 1/2 packet has been picked for already, before it was emitted (persistent sessions below).
 * - ./delivery-dedupe.ts lets one client receive a packet once even when several of its filters
 *   match, and the broker's `authorizeForward` asks it before this one; so the decision below is
 *   made once per client and packet and looks at all of the client's subscriptions, not at the one
 *   whose listener fired.
 * - Persistent sessions (clean=false): aedes' own offline queueing, `enqueueOffline` (aedes.js),
 *   looks up the stored subscriptions that match the topic and hands them to
 *   `persistence.outgoingEnqueueCombi`; a stored `$share/g/F` matches no topic, so aedes queues
 *   nothing for a group. The persistence aedes is given (./persistence.ts) asks `queueTargets` in
 *   outgoingEnqueueCombi: for each group whose filter matches,
 *   the pick is made there, before the packet is emitted, and the chosen member's session queue is
 *   added when it has one: a connected member with clean=false and a QoS>0 route, or, when no member
 *   is connected, a member that is away with its persistent session (round-robin among those).
 *   enqueueOffline runs before the publisher's PUBACK (./ack-after-store.ts), so an accepted
 *   message is in a queue before it is acknowledged, and a member that drops between the pick and
 *   the delivery finds it there when it comes back.
 * - Away members: a clean=false member whose subscription is QoS 1 or 2 stays a target when it
 *   disconnects (its session keeps the subscription); it is a connected member again when the
 *   session's restore rejoins it. Connecting with clean=true ends the session: aedes calls
 *   `persistence.cleanSubscriptions` (connect.js fetchSubs, after authentication), where the
 *   persistence calls `sessionEnded` to forget the member. After a broker restart the away members come from the stored
 *   subscriptions (`restore`, ./session-store.ts), before the listeners open.
 * - Persistent-session member, QoS 0 route: `deliverQoS` still calls `persistence.outgoingUpdate`,
 *   which throws 'no such packet' (aedes-persistence asyncPersistence.js) for a packet that was
 *   never queued, and the client is then closed with an error. The persistence (./persistence.ts)
 *   queues a persistent session's missing packet and updates again.
 * - Redelivery from a session queue (connect.js emptyQueue -> emptyQueueFilter) also calls
 *   `authorizeForward`, with a QoSPacket whose messageId is a number; live deliveries always carry
 *   messageId undefined (aedes-packet resets it). Whatever sits in a client's queue was queued for
 *   that client alone (a plain persistent subscription, or the pick above), so it is forwarded.
 * - UNSUBSCRIBE has no hook: lib/handlers/unsubscribe.js looks up `client.subscriptions[topic]`,
 *   finds nothing for `$share/g/F`, and emits 'unsubscribe'; the listener here leaves the group and
 *   removes F's route unless the client still wants F some other way.
 *
 * Overlap (a client with `$share/g/F` and a plain F, or two groups on one filter): aedes keeps ONE
 * route per client and filter, and `dedupe` one copy per client and packet. A client with a plain
 * subscription matching the topic gets every message once; it still counts as a group member, and
 * when the group picks it no other member gets that message. MQTT 5 would send it one copy per
 * subscription. Unsubscribing the plain F also ends the client's shared subscriptions on F (the
 * route is gone), and the QoS of the later of the two subscriptions applies to both.
 *
 * Picks live in this process: brokers clustered through a shared mqemitter would each pick.
 * MQTT 3.1.1 has no session expiry: a member that never comes back keeps its queue, and with it
 * every message picked for it while no member was connected, until a client connects with its
 * client id and clean=true.
 */
import type { Aedes, AedesPublishPacket, Client, Subscription } from 'aedes';
import type { Logger } from 'pino';
import { routeQos } from './aedes-internals.ts';
import type { PersistenceHooks } from './persistence.ts';
import { SharedGroups, type SharedSubscriptionStats, type StoredMembership } from './shared-groups.ts';
import { parseSharedFilter } from './topic-filter.ts';

export type { SharedSubscriptionStats } from './shared-groups.ts';

export class SharedSubscriptions implements PersistenceHooks {
  readonly #logger: Logger;
  readonly #groups = new SharedGroups<Client>(routeQos);

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** aedes `authorizeSubscribe` hook: `$share/g/F` joins g and routes F; malformed: SUBACK 0x80. */
  readonly authorizeSubscribe = (client: Client, sub: Subscription,
    callback: (error: Error | null, subscription?: Subscription | null) => void): void => {
    const shared = parseSharedFilter(sub.topic);
    if (shared === undefined) {
      this.#groups.subscribed(client, sub.topic);
      return callback(null, sub);
    }
    if (shared === null) {
      this.#logger.debug({ clientId: client.id, topic: sub.topic }, 'malformed shared subscription refused');
      return callback(null, null); // SUBACK return code 0x80 (MQTT 3.1.1 §3.9.3)
    }
    const members = this.#groups.join(client, shared, sub.qos);
    this.#logger.debug({ clientId: client.id, group: shared.group, filter: shared.filter, members }, 'joined shared subscription');
    callback(null, { ...sub, topic: shared.filter });
  };

  /** aedes `authorizeForward` hook: a group member gets a message only when it is the one picked. */
  readonly authorizeForward = (client: Client, packet: AedesPublishPacket): AedesPublishPacket | null => {
    // A queued redelivery (numeric messageId) or a retained message sent on SUBSCRIBE (no brokerId,
    // lib/handlers/subscribe.js completeSubscribe; only plain filters look retained messages up).
    if (typeof packet.messageId === 'number' || !packet.brokerId) return packet;
    const key = packetKey(packet);
    return this.#groups.forward(client, packet.topic, key) ? packet : null;
  };

  /** Follows UNSUBSCRIBE and disconnects through aedes' events; call once, before listening. */
  listen(aedes: Aedes): void {
    aedes.on('unsubscribe', (topics, client) => this.#unsubscribed(topics, client));
    aedes.on('clientDisconnect', (client) => this.#groups.disconnected(client));
  }

  /**
   * The members of a broker that ran before this one on the same store: every stored `$share/...`
   * subscription of QoS 1 or 2 makes its client an away member. Call before the listeners open.
   */
  restore(stored: StoredMembership[]): void {
    this.#groups.restore(stored);
    if (stored.length > 0) this.#logger.info({ away: this.stats().away, groups: this.stats().groups }, 'shared subscriptions restored from the store');
  }

  stats(): SharedSubscriptionStats {
    return this.#groups.stats();
  }

  /** PersistenceHooks: the session queues of the members picked for a QoS 1/2 packet (see the header). */
  queueTargets(packet: AedesPublishPacket): string[] {
    return packet.brokerId ? this.#groups.queueTargets(packet.topic, packetKey(packet)) : [];
  }

  /** PersistenceHooks: a clean=true CONNECT for `client.id`, authenticated (see the header). */
  sessionEnded(client: Client): void {
    this.#groups.sessionEnded(client);
  }

  #unsubscribed(topics: string[], client: Client): void {
    const unroute = this.#groups.unsubscribed(client, topics);
    if (unroute.length === 0 || client.closed) return;
    // No UNSUBACK (no messageId) and no persistence change: aedes did both for `$share/g/F`.
    client.unsubscribe({ cmd: 'unsubscribe', unsubscriptions: unroute }, (err) => {
      if (err) this.#logger.warn({ clientId: client.id, filters: unroute, err }, 'removing a shared route failed');
    });
  }
}

/** brokerId:brokerCounter, unique per published packet (aedes-packet). */
function packetKey(packet: AedesPublishPacket): string {
  return `${packet.brokerId}:${packet.brokerCounter}`;
}
