/**
 * The persistence aedes is given at construction (`AedesOptions.persistence`): a decorator over an
 * aedes-persistence store (in memory, or aedes-persistence-level over LevelDB; ./session-store.ts)
 * that passes every call through and lets shared subscriptions (./shared-subscriptions.ts) take
 * part in two of them, through `PersistenceHooks`:
 * - `outgoingEnqueueCombi`: aedes queues a QoS 1/2 message for the persistent sessions whose stored
 *   subscriptions match its topic (aedes.js enqueueOffline); a stored `$share/g/F` matches no topic,
 *   so the hooks add the queue of the group member picked for the message.
 * - `outgoingUpdate`: aedes updates the queued copy of every QoS 1/2 delivery to a persistent session
 *   (lib/client.js deliverQoS, connect.js emptyQueue), and fails with 'no such packet' when there is
 *   none; aedes then closes the connection and the packet is lost. The decorator queues a persistent
 *   session's missing packet and updates again. A copy is missing in two cases: a shared-subscription
 *   pick sent over a QoS 0 route of a persistent member was never queued; and, sending a session's
 *   queue again after a reconnect, aedes numbers the new connection's packets from a random start,
 *   a PUBACK clears the first queued packet with its message id (aedes-persistence
 *   outgoingClearMessageId), and that can be an older packet, still holding the id it had on the
 *   last connection, not yet sent again (queued again, it is delivered at least once: the packet the
 *   PUBACK was for stays queued and comes again at the next reconnect).
 * - `cleanSubscriptions`: aedes calls it for a clean=true CONNECT, after authentication
 *   (lib/handlers/connect.js fetchSubs): the session ends, and its memberships with it.
 *
 * It implements aedes-persistence's promise interface (aedes 1.x calls no callbacks) and passes
 * aedes-persistence's own abstract test suite (test/unit/broker/persistence-abstract.test.ts).
 */
import type { Readable } from 'node:stream';
import type { AedesPublishPacket, Brokers, Client, PublishPacket, Subscription } from 'aedes';

/** A stored subscription as `subscriptionsByTopic` returns it. */
export interface StoredSubscriber {
  clientId: string;
  topic: string;
  qos?: number;
}

/** aedes-persistence 11's promise interface (types/asyncPersistence.d.ts), as aedes 1.x calls it. */
export interface AsyncPersistence {
  setup(broker: unknown): Promise<unknown>;
  storeRetained(packet: AedesPublishPacket): Promise<unknown>;
  createRetainedStream(pattern: string): Readable;
  createRetainedStreamCombi(patterns: string[]): Readable;
  addSubscriptions(client: Client, subs: Subscription[]): Promise<unknown>;
  removeSubscriptions(client: Client, subs: string[]): Promise<unknown>;
  subscriptionsByClient(client: Pick<Client, 'id'>): Promise<{ topic: string; qos: number }[]>;
  countOffline(): Promise<{ subsCount: number; clientsCount: number }>;
  subscriptionsByTopic(pattern: string): Promise<StoredSubscriber[]>;
  cleanSubscriptions(client: Client): Promise<unknown>;
  outgoingEnqueue(sub: { clientId: string }, packet: AedesPublishPacket): Promise<unknown>;
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: AedesPublishPacket): Promise<unknown>;
  outgoingUpdate(client: Client, packet: AedesPublishPacket): Promise<unknown>;
  outgoingClearMessageId(client: Client, packet: AedesPublishPacket): Promise<unknown>;
  outgoingStream(client: Client): Readable;
  incomingStorePacket(client: Client, packet: PublishPacket): Promise<unknown>;
  incomingGetPacket(client: Client, packet: PublishPacket): Promise<unknown>;
  incomingDelPacket(client: Client, packet: PublishPacket): Promise<unknown>;
  /** optional: aedes feature-detects it */
  cleanIncoming?(client: Client): Promise<unknown>;
  putWill(client: Client, packet: PublishPacket): Promise<unknown>;
  getWill(client: Client): Promise<unknown>;
  delWill(client: Pick<Client, 'id'>): Promise<unknown>;
  streamWill(brokers?: Brokers): Readable;
  getClientList(topic: string): Readable;
  destroy(): Promise<unknown>;
}

/** How the broker's extensions take part in the persistence calls (see the header). */
export interface PersistenceHooks {
  /** Client ids whose session queue must (also) hold this QoS 1/2 packet. */
  queueTargets(packet: AedesPublishPacket): string[];
  /** A clean=true session starts for `client.id`. */
  sessionEnded(client: Client): void;
}

/** aedes-persistence's error for a packet that is not in the client's queue (asyncPersistence.js, both stores). */
function isNoSuchPacket(err: unknown): boolean {
  return err instanceof Error && err.message === 'no such packet';
}

const NO_HOOKS: PersistenceHooks = { queueTargets: () => [], sessionEnded: () => {} };

export class BrokerPersistence implements AsyncPersistence {
  readonly #inner: AsyncPersistence;
  readonly #hooks: PersistenceHooks;
  /** the broker given to `setup` (aedes itself); aedes-persistence's suite reads `broker.id` */
  broker: unknown;
  declare cleanIncoming?: (client: Client) => Promise<unknown>;

  /**
   * @param ownsSession whether `client` may change the session of its client id; default: all may.
   *   aedes clears the inbound QoS 2 state of a clean=true client when it closes (lib/client.js
   *   close), a client whose login was refused included: that state is another client's.
   */
  constructor(inner: AsyncPersistence, hooks: PersistenceHooks = NO_HOOKS, ownsSession: (client: Client) => boolean = () => true) {
    this.#inner = inner;
    this.#hooks = hooks;
    // Only where the store has it: aedes calls cleanIncoming when it is a function.
    if (typeof inner.cleanIncoming === 'function') {
      this.cleanIncoming = (client) => (ownsSession(client) ? inner.cleanIncoming!(client) : Promise.resolve());
    }
  }

  async setup(broker: unknown): Promise<unknown> {
    this.broker = broker;
    return this.#inner.setup(broker);
  }

  /** `subs`: the stored subscriptions matching the packet's topic (aedes.js DoEnqueues). */
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: AedesPublishPacket): Promise<unknown> {
    const extra = this.#hooks.queueTargets(packet);
    if (extra.length === 0) return this.#inner.outgoingEnqueueCombi(subs, packet);
    // One copy per client: the in-memory store queues a client once per entry.
    const queued = new Set(subs.map((sub) => sub.clientId));
    const added = extra.filter((clientId) => !queued.has(clientId) && queued.add(clientId)).map((clientId) => ({ clientId }));
    return this.#inner.outgoingEnqueueCombi(added.length === 0 ? subs : [...subs, ...added], packet);
  }

  async outgoingUpdate(client: Client, packet: AedesPublishPacket): Promise<unknown> {
    try {
      return await this.#inner.outgoingUpdate(client, packet);
    } catch (err) {
      // A persistent session's copy missing from its queue (see the header): queued, then updated.
      if (client.clean !== false || !isNoSuchPacket(err)) throw err;
      await this.#inner.outgoingEnqueue({ clientId: client.id }, packet);
      return this.#inner.outgoingUpdate(client, packet);
    }
  }

  cleanSubscriptions(client: Client): Promise<unknown> {
    this.#hooks.sessionEnded(client);
    return this.#inner.cleanSubscriptions(client);
  }

  storeRetained(packet: AedesPublishPacket): Promise<unknown> { return this.#inner.storeRetained(packet); }
  createRetainedStream(pattern: string): Readable { return this.#inner.createRetainedStream(pattern); }
  createRetainedStreamCombi(patterns: string[]): Readable { return this.#inner.createRetainedStreamCombi(patterns); }
  addSubscriptions(client: Client, subs: Subscription[]): Promise<unknown> { return this.#inner.addSubscriptions(client, subs); }
  removeSubscriptions(client: Client, subs: string[]): Promise<unknown> { return this.#inner.removeSubscriptions(client, subs); }
  subscriptionsByClient(client: Pick<Client, 'id'>): Promise<{ topic: string; qos: number }[]> { return this.#inner.subscriptionsByClient(client); }
  countOffline(): Promise<{ subsCount: number; clientsCount: number }> { return this.#inner.countOffline(); }
  subscriptionsByTopic(pattern: string): Promise<StoredSubscriber[]> { return this.#inner.subscriptionsByTopic(pattern); }
  outgoingEnqueue(sub: { clientId: string }, packet: AedesPublishPacket): Promise<unknown> { return this.#inner.outgoingEnqueue(sub, packet); }
  outgoingClearMessageId(client: Client, packet: AedesPublishPacket): Promise<unknown> { return this.#inner.outgoingClearMessageId(client, packet); }
  outgoingStream(client: Client): Readable { return this.#inner.outgoingStream(client); }
  incomingStorePacket(client: Client, packet: PublishPacket): Promise<unknown> { return this.#inner.incomingStorePacket(client, packet); }
  incomingGetPacket(client: Client, packet: PublishPacket): Promise<unknown> { return this.#inner.incomingGetPacket(client, packet); }
  incomingDelPacket(client: Client, packet: PublishPacket): Promise<unknown> { return this.#inner.incomingDelPacket(client, packet); }
  putWill(client: Client, packet: PublishPacket): Promise<unknown> { return this.#inner.putWill(client, packet); }
  getWill(client: Client): Promise<unknown> { return this.#inner.getWill(client); }
  delWill(client: Pick<Client, 'id'>): Promise<unknown> { return this.#inner.delWill(client); }
  streamWill(brokers?: Brokers): Readable { return this.#inner.streamWill(brokers); }
  getClientList(topic: string): Readable { return this.#inner.getClientList(topic); }
  destroy(): Promise<unknown> { return this.#inner.destroy(); }
}
