/**
 * Waiting for an edge node before the first frame. A frame published while no edge node has
 * subscribed is accepted by the broker and delivered to nobody (a shared subscription without
 * members), so a sensor started beside its edges loses its first frames. Edge nodes announce
 * themselves, retained (schemas/node.proto NodeAnnouncement): STARTING while they load and warm up,
 * UP once their frame subscription is granted. A sensor waits for one that is UP and serves its model.
 */
import { DynasplitError, ErrorCodes, type Logger, type MqttClient } from '../common/index.ts';
import { dynasplit, NodeAnnouncement, topics } from '../schemas/index.ts';

/** ms without a serving edge before the wait is logged. */
const NOTICE_MS = 1_000;

export interface ServingEdge {
  edgeId: string;
  edgeClass: string;
}

/** An edge an announcement says is serving now, with the models it serves; undefined when starting, gone, unreadable or no edge's. */
export function upEdge(topic: string, payload: Uint8Array): (ServingEdge & { models: string[] }) | undefined {
  const node = topics.nodeOfAnnouncement(topic);
  if (node?.role !== 'edge' || payload.length === 0) return undefined;
  let announced: NodeAnnouncement;
  try {
    announced = NodeAnnouncement.decode(payload);
  } catch {
    return undefined;
  }
  if (announced.state !== dynasplit.v1.NodeAnnouncement.State.UP || announced.node_id !== node.nodeId) return undefined;
  return { edgeId: node.nodeId, edgeClass: announced.node_class, models: announced.models.map((m) => m.name ?? '') };
}

/** The edge an announcement says is serving `model` now, or undefined (another model, starting, gone, unreadable, another topic). */
export function servingEdge(topic: string, payload: Uint8Array, model: string): ServingEdge | undefined {
  const edge = upEdge(topic, payload);
  return edge?.models.includes(model) ? { edgeId: edge.edgeId, edgeClass: edge.edgeClass } : undefined;
}

/**
 * Resolves with the first edge serving `model` (at once when one already is: the announcements are
 * retained); rejects with DYNASPLIT_ERR_NO_EDGES after `timeoutMs`, DYNASPLIT_ERR_FORBIDDEN when the
 * broker refuses the subscription. The subscription is dropped either way.
 */
export function waitForEdge(mqtt: MqttClient, model: string, timeoutMs: number, logger: Logger): Promise<ServingEdge> {
  const filter = topics.announcementsOf('edge');
  return new Promise<ServingEdge>((resolve, reject) => {
    // Said when the edges' retained announcements did not already answer: the sensor is not stuck.
    let waited = false;
    const notice = setTimeout(() => {
      waited = true;
      logger.warn({ model, timeoutMs }, 'no edge node serves the model yet: waiting for one to announce itself');
    }, NOTICE_MS);
    // Edges up that serve other models, by id: a model name mistyped on one side says so in the error.
    const others = new Map<string, string[]>();
    const timer = setTimeout(() => finish(noEdges(model, filter, timeoutMs, others)), timeoutMs);
    const onMessage = (topic: string, payload: Buffer) => {
      const node = topics.nodeOfAnnouncement(topic);
      if (node?.role !== 'edge') return;
      const edge = upEdge(topic, payload);
      if (edge?.models.includes(model)) finish({ edgeId: edge.edgeId, edgeClass: edge.edgeClass });
      else if (edge) others.set(edge.edgeId, edge.models);
      else others.delete(node.nodeId);
    };
    let done = false;
    function finish(outcome: ServingEdge | Error): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(notice);
      mqtt.off('message', onMessage);
      mqtt.unsubscribeAsync(filter).catch(() => undefined);
      if (outcome instanceof Error) return reject(outcome);
      if (waited) logger.warn({ model, edge: outcome.edgeId }, 'an edge node serves the model: sending');
      resolve(outcome);
    }
    mqtt.on('message', onMessage);
    const forbidden = () => new DynasplitError(ErrorCodes.FORBIDDEN, `the broker refused a subscription to ${filter}: this account may not read the `
      + 'edges\' announcements; grant it, or send without waiting (sensor --wait-for-edge 0)', { details: { filter } });
    // A SUBACK of 0x80 resolves the subscription in some MQTT.js versions and rejects it (its packet attached) in others.
    mqtt.subscribeAsync(filter, { qos: 1 }).then((granted) => {
      if (granted.some((grant) => grant.qos === 0x80)) finish(forbidden());
    }, (err: Error & { packet?: { granted?: number[] } }) => finish(err.packet?.granted?.includes(0x80)
      ? forbidden()
      : new DynasplitError(ErrorCodes.TRANSPORT, `cannot subscribe to ${filter}: ${err.message}`, { cause: err, retryable: true })));
  });
}

function noEdges(model: string, filter: string, timeoutMs: number, others: ReadonlyMap<string, string[]>): DynasplitError {
  const up = [...others].slice(0, 5).map(([id, models]) => `${id} (${models.join(', ')})`).join(', ');
  const why = others.size > 0
    ? `edge nodes are up, but serve other models: ${up}${others.size > 5 ? `, and ${others.size - 5} more` : ''}. Check the model name on both sides`
    : 'start one (it announces itself once it serves); or this account may not read that topic (Mosquitto accepts such a subscription '
      + 'and delivers nothing: regenerate its acl_file with `dynasplit broker mosquitto-acl`)';
  return new DynasplitError(ErrorCodes.NO_EDGES, `no edge node serving '${model}' announced itself on ${filter} within ${timeoutMs} ms: ${why}; `
    + 'or send without waiting (sensor --wait-for-edge 0)', { retryable: true, details: { model, timeoutMs, otherEdges: [...others.keys()] } });
}
