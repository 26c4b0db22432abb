/**
 * MQTT shared subscriptions (`$share/GROUP/FILTER`, MQTT 5 §4.8.2) on top of aedes 1.x hooks, so the
 * clients that load-balance through Mosquitto do the same through our broker: each message that
 * matches FILTER goes to exactly one member of GROUP: a connected one, round-robin; when none is
 * connected and the message is QoS 1 or 2, the queue of a member whose persistent session is away.
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
 *   unique per published packet, aedes-packet), every later call of that loop reads the pick. A
 *   QoS 1/2 packet has been picked for already, before it was emitted (persistent sessions below).
 * - `dedupe` (lib/client.js, made order-independent by ./delivery-dedupe.ts) lets one client
 *   receive a packet once even when several of its filters match, and it runs before
 *   `authorizeForward`; so the decision below looks at all of the client's subscriptions, not at
 *   the one whose listener fired.
 * - Persistent sessions (clean=false): aedes' own offline queueing, `enqueueOffline` (aedes.js),
 *   looks up the stored subscriptions that match the topic and hands them to
 *   `persistence.outgoingEnqueueCombi`; a stored `$share/g/F` matches no topic, so aedes queues
 *   nothing for a group. `attach` wraps outgoingEnqueueCombi: for each group whose filter matches,
 *   the pick is made there, before the packet is emitted, and the chosen member's session queue is
 *   added when it has one: a connected member with clean=false and a QoS>0 route, or, when no member
 *   is connected, a member that is away with its persistent session (round-robin among those).
 *   enqueueOffline runs before the publisher's PUBACK (./ack-after-store.ts), so an accepted
 *   message is in a queue before it is acknowledged, and a member that drops between the pick and
 *   the delivery finds it there when it comes back.
 * - Away members: a clean=false member whose subscription is QoS 1 or 2 stays a target when it
 *   disconnects (its session keeps the subscription); it is a connected member again when the
 *   session's restore rejoins it. Connecting with clean=true ends the session: aedes calls
 *   `persistence.cleanSubscriptions` (connect.js fetchSubs, after authentication), wrapped here to
 *   forget the member. After a broker restart the away members come from the stored
 *   subscriptions (`restore`, ./session-store.ts), before the listeners open.
 * - Persistent-session member, QoS 0 route: `deliverQoS` still calls `persistence.outgoingUpdate`,
 *   which throws 'no such packet' (aedes-persistence asyncPersistence.js) for a packet that was
 *   never queued, and the client is then closed with an error. `attach` wraps outgoingUpdate to
 *   queue the chosen member's packet first.
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
import { parseSharedFilter, topicMatches, type SharedFilter } from './topic-filter.ts';

/**
 * Packets whose pick is remembered: from the enqueue (before the store write) to the end of the
 * mqemitter loop; far more than are ever between the two at once.
 */
const MEMO_PACKETS = 4096;

interface Group {
  key: string;
  group: string;
  filter: string;
  /** connected members */
  members: Client[];
  /** index in `members` where the next round-robin search starts */
  next: number;
  /** client ids of members away with a persistent session and a QoS>0 subscription; round-robin order */
  away: string[];
  /** index in `away` of the next one to queue for */
  nextAway: number;
}

interface ClientState {
  /** plain topic filters of this client */
  normal: Set<string>;
  /** the groups it is a member of, with the QoS it subscribed at */
  groups: Map<Group, number>;
  /** once true, every delivery to this client goes through the decision below */
  hadShared: boolean;
}

/** Who gets a packet in one group: a connected member, the id of an away one (its queue), no one. */
type Pick = Client | string | null;

/** The route table of a client: lib/client.js `this.subscriptions`, keyed by topic filter. */
type RoutedClient = Client & { subscriptions?: Record<string, { qos?: number } | undefined> };

interface QueueTarget {
  clientId: string;
}

/** The persistence calls wrapped here (aedes-persistence's interface, promise form). */
interface SessionPersistence {
  outgoingUpdate(client: Client, packet: AedesPublishPacket): Promise<unknown>;
  outgoingEnqueue(sub: QueueTarget, packet: AedesPublishPacket): Promise<unknown>;
  outgoingEnqueueCombi(subs: QueueTarget[] | null, packet: AedesPublishPacket): Promise<unknown>;
  cleanSubscriptions(client: Client): Promise<unknown>;
}

export interface SharedSubscriptionStats {
  groups: number;
  /** connected members */
  members: number;
  /** members away with a persistent session, which QoS 1/2 messages are queued for */
  away: number;
  /** messages forwarded to a group member chosen for them */
  delivered: number;
  /** (member, message) pairs skipped because another member was chosen */
  skipped: number;
  /** messages queued for an away member because no member was connected */
  queued: number;
}

export class SharedSubscriptions {
  readonly #logger: Logger;
  readonly #groups = new Map<string, Group>();
  readonly #clients = new Map<Client, ClientState>();
  readonly #picks = new Map<string, Map<Group, Pick>>();
  /** clientId|brokerId|brokerCounter of picks sent to persistent sessions, until their outgoingUpdate */
  readonly #pendingPersistent = new Set<string>();
  #delivered = 0;
  #skipped = 0;
  #queued = 0;

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
    this.#join(client, shared, sub.qos);
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
    const key = packetKey(packet);
    for (const group of state.groups.keys()) {
      if (!topicMatches(group.filter, packet.topic)) continue;
      const chosen = this.#pick(group, key, false);
      // `client.id`: queued for this member while it was away, and it is back before the emit.
      if (chosen === client || chosen === client.id) {
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
    this.#wrapPersistence((aedes as unknown as { persistence: SessionPersistence }).persistence);
  }

  /**
   * The members of a broker that ran before this one on the same store: every stored `$share/...`
   * subscription of QoS 1 or 2 makes its client an away member. Call before the listeners open.
   */
  restore(stored: { clientId: string; topic: string; qos: number }[]): void {
    for (const { clientId, topic, qos } of stored) {
      const shared = parseSharedFilter(topic);
      if (shared && qos > 0) this.#addAway(this.#group(shared), clientId);
    }
    if (stored.length > 0) this.#logger.info({ away: this.stats().away, groups: this.#groups.size }, 'shared subscriptions restored from the store');
  }

  stats(): SharedSubscriptionStats {
    let members = 0;
    let away = 0;
    for (const group of this.#groups.values()) {
      members += group.members.length;
      away += group.away.length;
    }
    return { groups: this.#groups.size, members, away, delivered: this.#delivered, skipped: this.#skipped, queued: this.#queued };
  }

  #state(client: Client): ClientState {
    let state = this.#clients.get(client);
    if (!state) {
      state = { normal: new Set(), groups: new Map(), hadShared: false };
      this.#clients.set(client, state);
    }
    return state;
  }

  #group({ group, filter }: SharedFilter): Group {
    const key = `${group}/${filter}`; // a ShareName has no '/', so this is unambiguous
    let entry = this.#groups.get(key);
    if (!entry) {
      entry = { key, group, filter, members: [], next: 0, away: [], nextAway: 0 };
      this.#groups.set(key, entry);
    }
    return entry;
  }

  #join(client: Client, shared: SharedFilter, qos: number): void {
    const entry = this.#group(shared);
    if (!entry.members.includes(client)) entry.members.push(client);
    this.#removeAway(entry, client.id);
    const state = this.#state(client);
    state.groups.set(entry, qos);
    state.hadShared = true;
    this.#logger.debug({ clientId: client.id, group: entry.group, filter: entry.filter, members: entry.members.length }, 'joined shared subscription');
  }

  #leave(client: Client, entry: Group): void {
    entry.members = entry.members.filter((member) => member !== client);
    this.#dropIfEmpty(entry);
    this.#clients.get(client)?.groups.delete(entry);
    this.#logger.debug({ clientId: client.id, group: entry.group, filter: entry.filter }, 'left shared subscription');
  }

  #addAway(entry: Group, clientId: string): void {
    if (!entry.away.includes(clientId)) entry.away.push(clientId);
  }

  #removeAway(entry: Group, clientId: string): void {
    const index = entry.away.indexOf(clientId);
    if (index < 0) return;
    entry.away.splice(index, 1);
    if (entry.nextAway > index) entry.nextAway -= 1;
    this.#dropIfEmpty(entry);
  }

  #dropIfEmpty(entry: Group): void {
    if (entry.members.length === 0 && entry.away.length === 0) this.#groups.delete(entry.key);
  }

  /**
   * The member that gets this packet: fixed at the first call for (packet, group); a connected one
   * round-robin, else, where the packet can wait in a queue (`mayQueue`), an away one round-robin.
   */
  #pick(entry: Group, key: string, mayQueue: boolean): Pick {
    let picks = this.#picks.get(key);
    if (!picks) {
      picks = new Map();
      this.#picks.set(key, picks);
      if (this.#picks.size > MEMO_PACKETS) this.#picks.delete(this.#picks.keys().next().value!);
    }
    const known = picks.get(entry);
    if (known !== undefined) return known;
    const chosen = this.#nextMember(entry) ?? (mayQueue ? this.#nextAway(entry) : null);
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

  #nextAway(entry: Group): string | null {
    if (entry.away.length === 0) return null;
    const index = entry.nextAway % entry.away.length;
    entry.nextAway = index + 1;
    return entry.away[index]!;
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
      for (const entry of [...state.groups.keys()]) if (entry.filter === topic) this.#leave(client, entry);
    }
  }

  #unsubscribeShared(client: Client, state: ClientState, shared: SharedFilter): void {
    const entry = this.#groups.get(`${shared.group}/${shared.filter}`);
    if (entry && state.groups.has(entry)) this.#leave(client, entry);
    const stillWanted = state.normal.has(shared.filter) || [...state.groups.keys()].some((g) => g.filter === shared.filter);
    if (!stillWanted && !client.closed) {
      // No UNSUBACK (no messageId) and no persistence change: aedes did both for `$share/g/F`.
      client.unsubscribe({ cmd: 'unsubscribe', unsubscriptions: [shared.filter] }, (err) => {
        if (err) this.#logger.warn({ clientId: client.id, filter: shared.filter, err }, 'removing a shared route failed');
      });
    }
  }

  /** A persistent session keeps its QoS>0 memberships while away, unless it is already back. */
  #disconnected(client: Client): void {
    const state = this.#clients.get(client);
    if (!state) return;
    for (const [entry, qos] of [...state.groups]) {
      const back = entry.members.some((member) => member !== client && member.id === client.id && !member.closed);
      if (!client.clean && qos > 0 && client.id && !back) this.#addAway(entry, client.id);
      this.#leave(client, entry);
    }
    this.#clients.delete(client);
  }

  /**
   * A clean=true CONNECT for `client.id`, authenticated: the session and its subscriptions end, so
   * nothing more is queued for it, and the connection it replaces (taken over by aedes right after,
   * [MQTT-3.1.4-2]) stops being picked.
   */
  #sessionEnded(client: Client): void {
    for (const entry of [...this.#groups.values()]) this.#removeAway(entry, client.id);
    for (const [other, state] of this.#clients) {
      if (other === client || other.id !== client.id) continue;
      for (const entry of [...state.groups.keys()]) this.#leave(other, entry);
    }
  }

  /** The session queues of the members picked for a QoS 1/2 packet (see the header). */
  #queueTargets(packet: AedesPublishPacket): QueueTarget[] {
    if (!packet.brokerId) return [];
    const key = packetKey(packet);
    const targets: QueueTarget[] = [];
    for (const entry of [...this.#groups.values()]) {
      if (!topicMatches(entry.filter, packet.topic)) continue;
      const chosen = this.#pick(entry, key, true);
      if (typeof chosen === 'string') {
        this.#queued += 1;
        targets.push({ clientId: chosen });
      } else if (chosen && !chosen.clean && ((chosen as RoutedClient).subscriptions?.[entry.filter]?.qos ?? 0) > 0) {
        targets.push({ clientId: chosen.id });
      }
    }
    return targets;
  }

  #wrapPersistence(persistence: SessionPersistence): void {
    const update = persistence.outgoingUpdate.bind(persistence);
    persistence.outgoingUpdate = async (client, packet) => {
      const pending = this.#pendingPersistent.delete(`${client.id}|${packetKey(packet)}`);
      try {
        return await update(client, packet);
      } catch (err) {
        if (!pending) throw err;
        await persistence.outgoingEnqueue({ clientId: client.id }, packet);
        return update(client, packet);
      }
    };
    const enqueueCombi = persistence.outgoingEnqueueCombi.bind(persistence);
    persistence.outgoingEnqueueCombi = (subs, packet) => {
      // One copy per client: the in-memory persistence queues a client once per entry.
      const queued = new Set((subs ?? []).map((sub) => sub.clientId));
      const extra = this.#queueTargets(packet).filter((target) => !queued.has(target.clientId) && queued.add(target.clientId));
      return enqueueCombi(extra.length === 0 ? subs : [...(subs ?? []), ...extra], packet);
    };
    const cleanSubscriptions = persistence.cleanSubscriptions.bind(persistence);
    persistence.cleanSubscriptions = (client) => {
      this.#sessionEnded(client);
      return cleanSubscriptions(client);
    };
  }

  /** A pick sent over a QoS 0 route never reaches outgoingUpdate, so the set drops its oldest. */
  #markPersistent(key: string): void {
    this.#pendingPersistent.add(key);
    if (this.#pendingPersistent.size > MEMO_PACKETS) this.#pendingPersistent.delete(this.#pendingPersistent.values().next().value!);
  }
}

/** brokerId:brokerCounter, unique per published packet (aedes-packet). */
function packetKey(packet: AedesPublishPacket): string {
  return `${packet.brokerId}:${packet.brokerCounter}`;
}
