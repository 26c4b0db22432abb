/**
 * A QoS 1 message's PUBACK held until what it acknowledges is safe: a durable edge holds a frame's
 * until the journal has flushed it, so a PUBACK never covers a frame the node could lose.
 *
 * Where MQTT.js allows (./mqtt-internals.ts, `queuePubacks`), the client reads on while PUBACKs
 * wait, so frames arriving during one flush share the next (group commit). Elsewhere MQTT.js's public
 * way is taken: `handleMessage` calls back once the hold settles, and the client reads nothing more
 * until then (one flush per frame, still off the event loop).
 */
import type { IPublishPacket, MqttClient } from 'mqtt';
import { queuePubacks } from './mqtt-internals.ts';

export interface AckHolder {
  /** Holds the PUBACK of `packet` (QoS 1; others have none) until `until` settles (either way). Call it from the 'message' handler. */
  hold(packet: IPublishPacket, until: Promise<unknown>): void;
  /** Whether the client reads the next messages while a PUBACK is held. */
  readonly readsAhead: boolean;
}

/**
 * Installs PUBACK holding on `client`; call before it connects (connectMqtt's `prepare`).
 * `readAhead: false` takes the public way even where reading on is possible.
 */
export function holdAcks(client: MqttClient, { readAhead = true }: { readAhead?: boolean } = {}): AckHolder {
  const queue = readAhead ? queuePubacks(client) : undefined;
  if (queue) {
    return {
      readsAhead: true,
      hold: (packet, until) => { if (packet.qos === 1 && packet.messageId !== undefined) queue.hold(packet.messageId, until); },
    };
  }
  const waiting = new Map<IPublishPacket, Promise<unknown>>();
  client.handleMessage = (packet, callback) => {
    const until = waiting.get(packet);
    if (until === undefined) return callback();
    waiting.delete(packet);
    const release = (): void => callback();
    until.then(release, release);
  };
  return { readsAhead: false, hold: (packet, until) => { if (packet.qos === 1) waiting.set(packet, until); } };
}
