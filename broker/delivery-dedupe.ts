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
 * which runs `dedupe` synchronously. So "the same packet as the last one handed to this client"
 * tells a copy from a new message, whatever the order. `attachDeliveryDedupe` wraps each client's
 * two deliver functions (addSubs reads them when a subscription is added) so that `dedupe` refuses
 * exactly that: a packet whose counter is not the one recorded last is new, and the record is moved
 * just below its counter so that aedes' comparison passes. A QoS 0 packet on a QoS 1 subscription
 * goes from `deliverQoS` on to `deliver0` before `dedupe` has run: the record is still below, and
 * the packet goes out once.
 */
import type { Aedes, AedesPublishPacket } from 'aedes';

type Deliver = (packet: AedesPublishPacket, callback: () => void) => void;

/** The parts of lib/client.js's Client used here (not in aedes' types). */
interface DeliveringClient {
  /** broker id -> brokerCounter of the last packet handed to this client */
  duplicates: Record<string, number | undefined>;
  deliver0: Deliver;
  deliverQoS: Deliver;
}

/** Wraps `aedes.handle`, so every connection's client dedupes by packet; call once, before listening. */
export function attachDeliveryDedupe(aedes: Aedes): void {
  const handle = aedes.handle;
  aedes.handle = (stream, request) => {
    const client = handle(stream, request);
    dedupeByPacket(client as unknown as DeliveringClient);
    return client;
  };
}

/** Runs before any subscription exists: aedes creates the client and reads CONNECT later. */
function dedupeByPacket(client: DeliveringClient): void {
  for (const name of ['deliver0', 'deliverQoS'] as const) {
    const deliver = client[name];
    client[name] = (packet, callback) => {
      const brokerId = packet.brokerId;
      // No brokerId: a retained message sent on SUBSCRIBE, which aedes never dedupes.
      if (brokerId && client.duplicates[brokerId] !== packet.brokerCounter) client.duplicates[brokerId] = packet.brokerCounter - 1;
      deliver(packet, callback);
    };
  }
}
