/**
 * A client gets every message routed to it once, in whatever order the messages are routed.
 *
 * aedes 1.2 gives a client one copy of a message even when several of its subscriptions match
 * (lib/client.js `dedupe`, run by `deliver0` and `deliverQoS` before anything is written). It
 * remembers, per client and broker id, the highest `brokerCounter` handed over, and refuses a packet
 * whose counter is not above it. That assumes packets are routed in counter order, which they are
 * not: the counter is taken when `broker.publish` creates the packet (aedes-packet), and the packet
 * is emitted to the subscribers only after the steps before it have finished (aedes.js
 * publishFuncsQoS: storeRetained, enqueueOffline, emitPacket). Packets overtake one another when
 * - the steps are store writes that finish out of order: the LevelDB queue writes of
 *   `outgoingEnqueueCombi`, for every message that a persistent session (clean=false) subscribes
 *   to, run on libuv's thread pool; and aedes handles all the PUBLISH packets of one socket read,
 *   and those of different publishers, at the same time;
 * - one packet has more steps than another: a QoS 0 message skips enqueueOffline, a retained one
 *   waits for storeRetained; this happens with the in-memory store too.
 * The overtaken message is then dropped for that client without an error, though its publisher
 * has had its PUBACK: a clean session never gets it, a persistent one (whose queue still holds it)
 * only after reconnecting. Reported upstream as moscajs/aedes#955 and #994.
 *
 * The copies of one message reach a client within one synchronous call: mqemitter calls every
 * listener matching a packet in one loop (mqemitter.js `_do` -> fastparallel), and each
 * subscription's listener (lib/handlers/subscribe.js addSubs) calls `deliverQoS` or `deliver0`,
 * which runs `dedupe` and then `authorizeForward` synchronously. So "the same packet as the last one
 * handed to this client" tells a copy from a new message, whatever the order. `preConnect` (the
 * hook aedes runs on CONNECT, before any subscription of the client exists) turns aedes' counter
 * dedupe off for the client (./aedes-internals.ts), and `isCopy`, the first step of the broker's
 * `authorizeForward`, refuses exactly such a copy. A QoS 0 packet on a QoS 1 subscription goes
 * from `deliverQoS` on to `deliver0` before either check: it is looked at once.
 */
import type { AedesPublishPacket, Client, ConnectPacket } from 'aedes';
import { disableCounterDedupe } from './aedes-internals.ts';

export class DeliveryDedupe {
  /** brokerId:brokerCounter of the last live packet handed to each client */
  readonly #last = new WeakMap<Client, string>();

  /** aedes `preConnect` hook: accepts every connection; aedes' own dedupe is off for it. */
  readonly preConnect = (client: Client, _packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void): void => {
    disableCounterDedupe(client);
    callback(null, true);
  };

  /** Whether this delivery is another copy of the packet handed to `client` last (then skip it). */
  isCopy(client: Client, packet: AedesPublishPacket): boolean {
    // No brokerId: a retained message sent on SUBSCRIBE, which aedes never dedupes. A numeric
    // messageId: a redelivery from the client's session queue (lib/handlers/connect.js
    // emptyQueueFilter), which reaches authorizeForward without dedupe; live deliveries carry none.
    if (!packet.brokerId || typeof packet.messageId === 'number') return false;
    const key = `${packet.brokerId}:${packet.brokerCounter}`;
    if (this.#last.get(client) === key) return true;
    this.#last.set(client, key);
    return false;
  }
}
