/**
 * Which cloud workers serve which models, read from their retained announcements
 * (node-runtime/announce.ts), so that an edge over MQTT knows at once when no worker would answer a
 * tail request: MQTT has no "no responders" of its own, and such a request would run into its whole
 * timeout (the frame's remaining budget) before the edge ran the tail itself. Over NATS the server
 * answers no-responders; this gives the MQTT transport the same DYNASPLIT_ERR_NO_WORKERS.
 *
 * It only says "nobody" where the deployment's workers announce themselves: once some worker's
 * announcement has arrived (a GONE one too: a worker that ran once leaves its retained GONE). Until
 * then every request goes out as before: a broker whose access rules withhold announcements
 * (Mosquitto delivers nothing on a forbidden subscription), a worker of another make that speaks the
 * tail protocol (docs/protocol.md) without announcing, and a deployment whose first worker has not
 * started yet all look alike, and the last runs into its timeout. A worker counts while it is UP
 * (subscribed): a STARTING one has not subscribed yet, a GONE one (its clean stop or its last will)
 * never will again. Pure: the transport feeds it messages.
 */
import { NodeAnnouncement, topics } from '../schemas/index.ts';

export class WorkerDirectory {
  /** cloud worker id -> the models it serves while UP; absent when STARTING, GONE or never seen. */
  readonly #serving = new Map<string, ReadonlySet<string>>();
  #heard = false;

  /** True when `topic` is an announcement (the message was taken). */
  take(topic: string, payload: Uint8Array): boolean {
    const node = topics.nodeOfAnnouncement(topic);
    if (!node) return false;
    if (node.role !== 'cloud') return true;
    this.#heard = true;
    const announcement = decode(payload);
    // An empty retained message clears the topic; an undecodable one says nothing we can trust.
    if (announcement?.state === NodeAnnouncement.State.UP) {
      this.#serving.set(node.nodeId, new Set(announcement.models.map((m) => m.name ?? '')));
    } else {
      this.#serving.delete(node.nodeId);
    }
    return true;
  }

  /** False only when workers' announcements are heard and no UP worker serves `model`. */
  mayServe(model: string): boolean {
    if (!this.#heard) return true;
    for (const models of this.#serving.values()) if (models.has(model)) return true;
    return false;
  }

  /** The UP workers, for error messages: `id (model, model)`. */
  describe(): string {
    return [...this.#serving].map(([id, models]) => `${id} (${[...models].join(', ') || 'no models'})`).join(', ');
  }
}

function decode(payload: Uint8Array): NodeAnnouncement | undefined {
  if (payload.length === 0) return undefined;
  try {
    return NodeAnnouncement.decode(payload);
  } catch {
    return undefined;
  }
}
