/**
 * MQTT shared subscriptions (`$share/GROUP/FILTER`, MQTT 5 §4.8.2) on top of aedes 1.x hooks, so the
 * clients that load-balance through Mosquitto do the same through our broker: each message that
 * matches FILTER goes to exactly one connected member of GROUP, round-robin.
 *
 * How it sits on aedes (read from aedes 1.2.0; files under node_modules/aedes):
 * - SUBSCRIBE: `authorizeSubscribe` sees `$share/g/F`, records the membership and returns a copy of
 *   the subscription with topic F. lib/handlers/subscribe.js then routes F (addSubs ->
 *   `client.subscriptions[F]` and an mqemitter listener), so messages reach the member under their
 *   original topic, at the QoS granted to that route [MQTT-4.8.2-3]. The original object stays in the SUBSCRIBE packet, so a persistent session
 *   stores `$share/g/F` (storeSubscriptions) and its restore calls `authorizeSubscribe` again with
 *   it (lib/handlers/connect.js restoreSubs -> restoreTopicActions), which rejoins the group.
 *   Retained messages are looked up with the SUBSCRIBE packet's topics (subscribe.js
 *   completeSubscribe), i.e. `$share/g/F`, which matches none: a shared subscription gets no
 *   retained messages (subscribe plainly to a retained topic such as a policy).
 * - Delivery: mqemitter matches a message once and calls every matching listener in one
 *   synchronous loop (mqemitter.js `_do` -> fastparallel). Each listener runs `deliver0` (QoS 0) or
 *   `deliverQoS` (QoS 1/2) in lib/client.js; both call `authorizeForward(client, packet)`
 *   synchronously after `dedupe`, before anything is written, and skip the client when it returns
 *   null. The first call for a packet picks the group's member (keyed by brokerId:brokerCounter,
 *   unique per published packet, aedes-packet), every later call of that loop reads the pick.
 * - `dedupe` (lib/client.js) lets one client receive a packet once even when several of its
 *   filters match, and it runs before `authorizeForward`; so the decision below looks at all of the
 *   client's subscriptions, not at the one whose listener fired.
 * - Offline: `enqueueOffline` (aedes.js) queues QoS>0 messages for stored subscriptions that match
 *   the topic; a stored `$share/g/F` matches none, so nothing is queued for offline members (the
 *   online ones share the stream). A message published while no member is connected reaches no one
 *   through the group, as for a plain filter without subscribers.
 * - Persistent-session member (clean=false): `deliverQoS` calls `persistence.outgoingUpdate`, which
 *   throws 'no such packet' (aedes-persistence asyncPersistence.js) for a packet that was never
 *   queued, and the client is then closed with an error. `attach` wraps outgoingUpdate to queue the
 *   chosen member's packet first, which also gives the in-flight message the session's guarantees.
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
 */
import type { Aedes, AedesPublishPacket, Client, Subscription } from 'aedes';
import type { Logger } from 'pino';
import { parseSharedFilter, topicMatches, type SharedFilter } from './topic-filter.ts';

/** Packets whose pick is remembered; one mqemitter loop needs one, so this is generous. */
const MEMO_PACKETS = 4096;

interface Group {
  key: string;
  group: string;
  filter: string;
  members: Client[];
  /** index in `members` where the next round-robin search starts */
  next: number;
}

interface ClientState {
  /** plain topic filters of this client */
  normal: Set<string>;
  groups: Set<Group>;
  /** once true, every delivery to this client goes through the decision below */
  hadShared: boolean;
}

/** The route table of a client: lib/client.js `this.subscriptions`, keyed by topic filter. */
type RoutedClient = Client & { subscriptions?: Record<string, unknown> };

interface OutgoingPersistence {
  outgoingUpdate(client: Client, packet: AedesPublishPacket): Promise<unknown>;
  outgoingEnqueue(sub: { clientId: string }, packet: AedesPublishPacket): Promise<unknown>;
}

export interface SharedSubscriptionStats {
  groups: number;
  members: number;
  /** messages forwarded to a group member chosen for them */
  delivered: number;
  /** (member, message) pairs skipped because another member was chosen */
  skipped: number;
}

export class SharedSubscriptions {
  readonly #logger: Logger;
  readonly #groups = new Map<string, Group>();
  readonly #clients = new Map<Client, ClientState>();
  readonly #picks = new Map<string, Map<Group, Client | null>>();
  /** clientId|brokerId|brokerCounter of picks sent to persistent sessions, until their outgoingUpdate */
  readonly #pendingPersistent = new Set<string>();
  #delivered = 0;
  #skipped = 0;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** aedes `authorizeSubscribe` hook: `$share/g/F` joins g and routes F; malformed: SUBACK 0x80. */
  readonly authorizeSubscribe = (client: Client, sub: Subscription,
    callback: (error: Error | null, subscription?: Subscription | null) => void): void => {
    const shared = parseSharedFilter(sub.topic);
    if (shared === undefined) {
      this.#state(client).normal.add(sub.topic);
      return callback(null, sub);
    }
    if (shared === null) {
      this.#logger.debug({ clientId: client.id, topic: sub.topic }, 'malformed shared subscription refused');
      return callback(null, null); // SUBACK return code 0x80 (MQTT 3.1.1 §3.9.3)
    }
    this.#join(client, shared);
    callback(null, { ...sub, topic: shared.filter });
  };

  /** aedes `authorizeForward` hook: a group member gets a message only when it is the one picked. */
  readonly authorizeForward = (client: Client, packet: AedesPublishPacket): AedesPublishPacket | null => {
    // A queued redelivery (numeric messageId) or a retained message sent on SUBSCRIBE (no brokerId,
    // lib/handlers/subscribe.js completeSubscribe; only plain filters look retained messages up).
    if (typeof packet.messageId === 'number' || !packet.brokerId) return packet;
    const state = this.#clients.get(client);
    if (!state?.hadShared) return packet;
    for (const filter of state.normal) if (topicMatches(filter, packet.topic)) return packet;
    const key = `${packet.brokerId}:${packet.brokerCounter}`;
    for (const group of state.groups) {
      if (topicMatches(group.filter, packet.topic) && this.#pick(group, key) === client) {
        this.#delivered += 1;
        if (!client.clean && packet.qos > 0) this.#markPersistent(`${client.id}|${key}`);
        return packet;
      }
    }
    this.#skipped += 1;
    return null;
  };

  /** Listens to aedes events and wraps its persistence; call once, after `Aedes.createBroker`. */
  attach(aedes: Aedes): void {
    aedes.on('unsubscribe', (topics, client) => this.#unsubscribed(topics, client));
    aedes.on('clientDisconnect', (client) => this.#disconnected(client));
    this.#wrapOutgoingUpdate((aedes as unknown as { persistence: OutgoingPersistence }).persistence);
  }

  stats(): SharedSubscriptionStats {
    let members = 0;
    for (const group of this.#groups.values()) members += group.members.length;
    return { groups: this.#groups.size, members, delivered: this.#delivered, skipped: this.#skipped };
  }

  #state(client: Client): ClientState {
    let state = this.#clients.get(client);
    if (!state) {
      state = { normal: new Set(), groups: new Set(), hadShared: false };
      this.#clients.set(client, state);
    }
    return state;
  }

  #join(client: Client, { group, filter }: SharedFilter): void {
    const key = `${group}/${filter}`; // a ShareName has no '/', so this is unambiguous
    let entry = this.#groups.get(key);
    if (!entry) {
      entry = { key, group, filter, members: [], next: 0 };
      this.#groups.set(key, entry);
    }
    if (!entry.members.includes(client)) entry.members.push(client);
    const state = this.#state(client);
    state.groups.add(entry);
    state.hadShared = true;
    this.#logger.debug({ clientId: client.id, group, filter, members: entry.members.length }, 'joined shared subscription');
  }

  #leave(client: Client, entry: Group): void {
    entry.members = entry.members.filter((member) => member !== client);
    if (entry.members.length === 0) this.#groups.delete(entry.key);
    this.#clients.get(client)?.groups.delete(entry);
    this.#logger.debug({ clientId: client.id, group: entry.group, filter: entry.filter }, 'left shared subscription');
  }

  /** The member that gets this packet: fixed at the first call for (packet, group), round-robin. */
  #pick(entry: Group, packetKey: string): Client | null {
    let picks = this.#picks.get(packetKey);
    if (!picks) {
      picks = new Map();
      this.#picks.set(packetKey, picks);
      if (this.#picks.size > MEMO_PACKETS) this.#picks.delete(this.#picks.keys().next().value!);
    }
    const known = picks.get(entry);
    if (known !== undefined) return known;
    const chosen = this.#nextMember(entry);
    picks.set(entry, chosen);
    return chosen;
  }

  /**
   * Round-robin over members that are still open and still route the filter: a closed client or one
   * whose route is being removed would receive nothing, and the message would be lost to the group.
   */
  #nextMember(entry: Group): Client | null {
    // A client closed before aedes registered it never emits 'clientDisconnect': drop it here.
    for (const member of entry.members) if (member.closed) this.#disconnected(member);
    const n = entry.members.length;
    for (let i = 0; i < n; i++) {
      const index = (entry.next + i) % n;
      const member = entry.members[index] as RoutedClient;
      if (!member.closed && member.subscriptions?.[entry.filter] !== undefined) {
        entry.next = index + 1;
        return member;
      }
    }
    return null;
  }

  #unsubscribed(topics: string[], client: Client): void {
    const state = this.#clients.get(client);
    if (!state) return;
    for (const topic of topics) {
      const shared = parseSharedFilter(topic);
      if (shared) {
        this.#unsubscribeShared(client, state, shared);
        continue;
      }
      // A plain filter: aedes has removed the client's one route for it, shared or not.
      state.normal.delete(topic);
      for (const entry of [...state.groups]) if (entry.filter === topic) this.#leave(client, entry);
    }
  }

  #unsubscribeShared(client: Client, state: ClientState, shared: SharedFilter): void {
    const entry = this.#groups.get(`${shared.group}/${shared.filter}`);
    if (entry && state.groups.has(entry)) this.#leave(client, entry);
    const stillWanted = state.normal.has(shared.filter) || [...state.groups].some((g) => g.filter === shared.filter);
    if (!stillWanted && !client.closed) {
      // No UNSUBACK (no messageId) and no persistence change: aedes did both for `$share/g/F`.
      client.unsubscribe({ cmd: 'unsubscribe', unsubscriptions: [shared.filter] }, (err) => {
        if (err) this.#logger.warn({ clientId: client.id, filter: shared.filter, err }, 'removing a shared route failed');
      });
    }
  }

  #disconnected(client: Client): void {
    const state = this.#clients.get(client);
    if (!state) return;
    for (const entry of [...state.groups]) this.#leave(client, entry);
    this.#clients.delete(client);
  }

  #wrapOutgoingUpdate(persistence: OutgoingPersistence): void {
    const update = persistence.outgoingUpdate.bind(persistence);
    persistence.outgoingUpdate = async (client, packet) => {
      const pending = this.#pendingPersistent.delete(`${client.id}|${packet.brokerId}:${packet.brokerCounter}`);
      try {
        return await update(client, packet);
      } catch (err) {
        if (!pending) throw err;
        await persistence.outgoingEnqueue({ clientId: client.id }, packet);
        return update(client, packet);
      }
    };
  }

  /** A pick sent over a QoS 0 route never reaches outgoingUpdate, so the set drops its oldest. */
  #markPersistent(key: string): void {
    this.#pendingPersistent.add(key);
    if (this.#pendingPersistent.size > MEMO_PACKETS) this.#pendingPersistent.delete(this.#pendingPersistent.values().next().value!);
  }
}
