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
 * PUBLISH from a client it publishes the packet itself (`DynasplitAedes.publishAhead`,
 * ./aedes-internals.ts) and calls back once that has finished: retained and queued copies are in
 * the store, connected subscribers have been written to. aedes then writes the PUBACK and calls
 * `publish` again with that packet object, which completes at once instead of publishing twice. A
 * failed publish (a store error) becomes the hook's error: aedes closes the connection without a
 * PUBACK and the client sends the message again on its next connection.
 *
 * What remains: "stored" means the persistence's write resolved. LevelDB (classic-level, no `sync`)
 * has then handed it to the operating system, which keeps it when the broker process dies
 * (SIGKILL included) but not when the machine loses power before writing it out. The PUBACK also
 * waits for the writes to connected subscribers (mqemitter calls back when every listener has), as
 * aedes' QoS 2 path does; a publisher's next packets were already waiting for them (lib/client.js
 * reads on only when the publish has completed).
 */
import type { Client, PublishPacket } from 'aedes';
import type { DynasplitAedes } from './aedes-internals.ts';

type PublishCallback = (error?: Error | null) => void;

export class AckAfterStore {
  #broker: DynasplitAedes | undefined;

  /** The broker to publish through; until it is set, the hook lets every packet pass. */
  use(broker: DynasplitAedes): void {
    this.#broker = broker;
  }

  /** The last step of aedes' `authorizePublish`: run it only once the packet has been authorized. */
  readonly authorizePublish = (client: Client | null, packet: PublishPacket, callback: PublishCallback): void => {
    // A client's QoS 1 PUBLISH carries its messageId; wills (lib/client.js close) carry none.
    if (!this.#broker || !client || packet.qos !== 1 || packet.cmd !== 'publish' || typeof packet.messageId !== 'number') {
      callback(null);
      return;
    }
    this.#broker.publishAhead(packet, client, callback);
  };
}
