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

/** The edge an announcement says is serving `model` now, or undefined (another model, starting, gone, unreadable, another topic). */
export function servingEdge(topic: string, payload: Uint8Array, model: string): ServingEdge | undefined {
  const node = topics.nodeOfAnnouncement(topic);
  if (node?.role !== 'edge' || payload.length === 0) return undefined;
  let announced: NodeAnnouncement;
  try {
    announced = NodeAnnouncement.decode(payload);
  } catch {
    return undefined;
  }
  if (announced.state !== dynasplit.v1.NodeAnnouncement.State.UP || announced.node_id !== node.nodeId) return undefined;
  return announced.models.some((m) => m.name === model) ? { edgeId: node.nodeId, edgeClass: announced.node_class } : undefined;
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
    const timer = setTimeout(() => finish(new DynasplitError(ErrorCodes.NO_EDGES,
      `no edge node serving '${model}' announced itself on ${filter} within ${timeoutMs} ms: start one (it announces itself once it serves), `
      + 'check that this account may read that topic, or send without waiting (sensor --wait-for-edge 0)', { retryable: true, details: { model, timeoutMs } })), timeoutMs);
    const onMessage = (topic: string, payload: Buffer) => {
      const edge = servingEdge(topic, payload, model);
      if (edge) finish(edge);
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
    mqtt.subscribeAsync(filter, { qos: 1 }).then((granted) => {
      if (granted.some((grant) => grant.qos === 128)) {
        finish(new DynasplitError(ErrorCodes.FORBIDDEN, `the broker refused a subscription to ${filter}: this account may not read the edges' announcements; `
          + 'grant it, or send without waiting (sensor --wait-for-edge 0)', { details: { filter } }));
      }
    }, (err: Error) => finish(err));
  });
}
