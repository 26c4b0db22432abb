/**
 * The PUBACK of a QoS 1 PUBLISH goes out only after the broker has stored and routed the message.
 *
 * aedes 1.2 acknowledges first. lib/handlers/publish.js `enqueuePublish`, case 1, writes the PUBACK
 * and only in that write's callback calls `broker.publish`, whose steps (aedes.js publishFuncsQoS:
 * storeRetained, enqueueOffline, emitPacket, callPublished) then store the message: enqueueOffline
 * puts it in the queue of every persistent session (clean=false) that subscribes to it, through
 * `persistence.outgoingEnqueueCombi`. A broker that dies between the PUBACK and that write has
 * acknowledged a message no queue holds: the sender will not send it again (MQTT 3.1.1 §4.3.2) and
 * no subscriber gets it. QoS 2 is in order already: incomingStorePacket, publish, then PUBREC.
 *
 * The fix sits on `authorizePublish`, the hook aedes runs just before enqueuePublish, with the same
 * packet object (handlePublish: runSeries over [authorizePublish, enqueuePublish]). For a QoS 1
 * PUBLISH from a client it runs `broker.publish` itself and calls back once that has finished:
 * retained and queued copies are in the store, connected subscribers have been written to. aedes
 * then writes the PUBACK and calls `broker.publish` again with that packet object, which the wrapper
 * installed by `attach` completes at once instead of publishing twice. A failed publish (a store
 * error) becomes the hook's error: aedes closes the connection without a PUBACK and the client sends
 * the message again on its next connection.
 *
 * What remains: "stored" means the persistence's write resolved. LevelDB (classic-level, no `sync`)
 * has then handed it to the operating system, which keeps it when the broker process dies
 * (SIGKILL included) but not when the machine loses power before writing it out. The PUBACK also
 * waits for the writes to connected subscribers (mqemitter calls back when every listener has), as
 * aedes' QoS 2 path does; a publisher's next packets were already waiting for them (lib/client.js
 * reads on only when the publish has completed).
 */
import type { Aedes, Client, PublishPacket } from 'aedes';

type PublishCallback = (error?: Error | null) => void;
/** aedes.js `publish(packet, client, done)`, also callable as `publish(packet, done)` */
type Publish = (packet: PublishPacket, client: Client | null | PublishCallback, done?: PublishCallback) => void;

export class AckAfterStore {
  /** PUBLISH packets already published by the hook, until aedes asks to publish them */
  readonly #published = new WeakSet<PublishPacket>();
  #publish: Publish | undefined;

  /** The last step of aedes' `authorizePublish`: run it only once the packet has been authorized. */
  readonly authorizePublish = (client: Client | null, packet: PublishPacket, callback: PublishCallback): void => {
    // A client's QoS 1 PUBLISH carries its messageId; wills (lib/client.js close) carry none.
    if (!this.#publish || !client || packet.qos !== 1 || packet.cmd !== 'publish' || typeof packet.messageId !== 'number') {
      callback(null);
      return;
    }
    this.#published.add(packet);
    this.#publish(packet, client, (err) => {
      if (err) this.#published.delete(packet);
      callback(err ?? null);
    });
  };

  /** Wraps `aedes.publish`; call once, right after `Aedes.createBroker`. */
  attach(aedes: Aedes): void {
    const target = aedes as unknown as { publish: Publish };
    const publish = target.publish.bind(aedes);
    this.#publish = publish;
    target.publish = (packet, client, done) => {
      if (!this.#published.delete(packet)) return publish(packet, client, done);
      (typeof client === 'function' ? client : done)?.(null);
    };
  }
}
