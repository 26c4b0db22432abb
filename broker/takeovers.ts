/**
 * MQTT 3.1.1 §3.1.4-2: a CONNECT with a client id that is connected already takes its session over,
 * and the broker closes the other connection. Two clients that share an id (two nodes started with
 * one `--id`) then take turns: each reconnects (MQTT.js after ~1 s) and takes over from the other,
 * for as long as both run, and every message in flight waits for a reconnect or is sent again. The
 * clients see only a closed connection; the broker knows why, and says so.
 *
 * A connection is noted at CONNECT (aedes' `preConnect`, before authentication) and counted once
 * aedes has accepted it, so a refused login is never reported as a takeover.
 */
import type { Client, ConnectPacket } from 'aedes';

const noted = new WeakSet<Client>();

/** At CONNECT: whether `packet`'s client id is connected already on this client's broker. */
export function noteTakeover(client: Client, packet: ConnectPacket): void {
  const id = packet.clientId;
  // aedes' Client has its broker as `broker`, not in its types (./aedes-internals.ts, item 6).
  const broker = (client as unknown as { broker: { clients: Record<string, Client | undefined> } }).broker;
  if (id && broker.clients[id]) noted.add(client);
}

/** Once accepted: whether this client took its id over from another connection. */
export function tookOver(client: Client): boolean {
  return noted.delete(client);
}
