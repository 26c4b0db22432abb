/**
 * Everything the broker knows of aedes beyond its public options, hooks, events and persistence
 * interface, in one place, and the version gate that keeps it honest: the broker refuses to start
 * on an aedes outside SUPPORTED_AEDES (DYNASPLIT_ERR_UNSUPPORTED_VERSION), since each item below was
 * read from the aedes 1.2.0 source (files under node_modules/aedes) and may not hold in another.
 *
 * 1. `client.subscriptions` (lib/client.js): the client's route table, filter -> { qos }. Shared
 *    subscriptions ask whether a member still routes a filter, and at which QoS (`routeQos`).
 * 2. `client.duplicates` (lib/client.js `dedupe`): per broker id, the highest brokerCounter handed to
 *    the client; a packet at or below it is dropped. `disableCounterDedupe` makes it forget every
 *    write, so `dedupe` passes everything and ./delivery-dedupe.ts decides in `authorizeForward`,
 *    which lib/client.js calls right after `dedupe`, for the same deliveries.
 * 3. The order in lib/handlers/publish.js: `authorizePublish`, then, for QoS 1, the PUBACK and
 *    `broker.publish` with the same packet object. `DynasplitAedes.publishAhead` publishes a packet
 *    from the hook and makes that later `publish` of the same object a no-op (./ack-after-store.ts).
 * 4. How deliveries are written (lib/write.js, lib/client.js waitForDrain): through the `write` of
 *    the stream given to `handle`, via mqtt-packet's writeToStream, whose result is the last
 *    `write`'s; false makes aedes hold the delivery until 'drain' or its drainTimeout. The broker
 *    bounds each connection's queue instead and reports room always (./outgoing-bound.ts), except
 *    while a stored queue is replayed on CONNECT: aedes sets `client.connected` only after
 *    emptyQueue, the last connect step, has written it (`replayingQueue`), and `conn.client` is
 *    the client of a connection (lib/client.js constructor).
 * 5. `connackSent` (lib/handlers/connect.js doConnack) is emitted with the CONNACK and the client
 *    whose `conn` is the stream given to `handle`: the packet-size guard's end of login
 *    (./packet-size.ts `admit`). A refused login never has its `authenticate` succeed, and aedes
 *    takes a client id over only after it (registerClient), which ./auth.ts's id checks rely on.
 * 6. `client.broker.clients` (aedes.js registerClient): the connected clients by id, the one a new
 *    CONNECT of the same id takes over (closed before the new one's 'client' event): ./takeovers.ts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Aedes, type AedesOptions, type Client, type PublishPacket } from 'aedes';
import { DynasplitError, ErrorCodes } from '../common/index.ts';

/** aedes versions the items above were checked against: at least `min`, below `below`. */
export const SUPPORTED_AEDES = { min: '1.2.0', below: '1.3.0' } as const;

type PublishCallback = (error?: Error | null) => void;
/** aedes.js `publish(packet, client, done)`; its types declare only `publish(packet, done)`. */
type Publish = (packet: PublishPacket, client: Client | null | Done, done?: Done) => void;
/** aedes' types: a publish callback gets an Error or nothing */
type Done = (error?: Error) => void;

/** The installed aedes' version, from its package.json (aedes exports no ./package.json). */
export function installedAedesVersion(): string {
  const main = createRequire(import.meta.url).resolve('aedes');
  return (JSON.parse(readFileSync(join(dirname(main), 'package.json'), 'utf8')) as { version: string }).version;
}

/** Throws DYNASPLIT_ERR_UNSUPPORTED_VERSION unless `version` is within SUPPORTED_AEDES. */
export function assertSupportedAedes(version: string = installedAedesVersion()): void {
  const parsed = parseVersion(version);
  if (parsed && compare(parsed, parseVersion(SUPPORTED_AEDES.min)!) >= 0 && compare(parsed, parseVersion(SUPPORTED_AEDES.below)!) < 0) return;
  throw new DynasplitError(ErrorCodes.UNSUPPORTED_VERSION,
    `the broker was written for aedes >=${SUPPORTED_AEDES.min} <${SUPPORTED_AEDES.below}, not ${version}: `
    + 'broker/aedes-internals.ts lists what to check again before widening the range',
    { details: { dependency: 'aedes', version, supported: `>=${SUPPORTED_AEDES.min} <${SUPPORTED_AEDES.below}` } });
}

/** major.minor.patch; undefined for anything else (a pre-release included). */
function parseVersion(version: string): [number, number, number] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

function compare(a: [number, number, number], b: [number, number, number]): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** The QoS `client` routes `filter` at, undefined when it has no route for it (item 1). */
export function routeQos(client: Client, filter: string): number | undefined {
  const route = (client as Client & { subscriptions?: Record<string, { qos?: number } | undefined> }).subscriptions?.[filter];
  return route === undefined ? undefined : (route.qos ?? 0);
}

/** aedes' own dedupe lets every packet through for `client` from now on (item 2). */
export function disableCounterDedupe(client: Client): void {
  (client as Client & { duplicates: object }).duplicates = new Proxy(Object.create(null) as object, { set: () => true });
}

/** Whether the client on `conn` is still in its CONNECT steps: its stored queue being replayed (item 4). */
export function replayingQueue(conn: object): boolean {
  const client = (conn as { client?: { connecting?: boolean; connected?: boolean } }).client;
  return client?.connecting === true && client.connected !== true;
}

/** aedes with `publishAhead` (item 3). Construct, then `await listen()` (what `Aedes.createBroker` does). */
export class DynasplitAedes extends Aedes {
  /** PUBLISH packets already published by `publishAhead`, until aedes publishes them itself */
  readonly #ahead = new WeakSet<PublishPacket>();

  constructor(options: AedesOptions) {
    assertSupportedAedes();
    super(options);
  }

  /** Publishes `packet` now; aedes' own later `publish` of this object completes at once. */
  publishAhead(packet: PublishPacket, client: Client, done: PublishCallback): void {
    this.#ahead.add(packet);
    (super.publish as Publish).call(this, packet, client, (err) => {
      if (err) this.#ahead.delete(packet);
      done(err ?? null);
    });
  }

  /** aedes.js `publish(packet, client, done)`, also callable as `publish(packet, done)`. */
  override publish(packet: PublishPacket, client: Client | null | Done, done?: Done): void {
    if (!this.#ahead.delete(packet)) {
      (super.publish as Publish).call(this, packet, client, done);
      return;
    }
    (typeof client === 'function' ? client : done)?.();
  }
}
