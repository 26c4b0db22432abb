/**
 * A node says what it is: a retained NodeAnnouncement (schemas/node.proto) on
 * `dynasplit/v1/nodes/ROLE/ID` with its class, device profile, models and cuts, energy source and
 * version, so the optimizer plans with the node's own knobs instead of guessing them. It is STARTING
 * until the node says it serves (`serving()`: its subscriptions are granted), then UP, so a sensor
 * can wait for an edge before its first frame (client/frame-client.ts). When the node stops it is
 * marked GONE: by a clean publish on close, and by its MQTT last will (MQTT 3.1.1 §3.1.2.5) when it
 * dies without one. An edge node also publishes its policy status (NodeStatus) through the same
 * connection.
 *
 * The announcement is no condition for serving: the connection is opened in the background, a node
 * without a reachable broker (a NATS-only worker) serves all the same, says so once in its log and
 * announces itself once the broker is there (common/mqtt-background.ts), and every reconnection
 * publishes the announcement again (a broker restarted without persistence has lost it).
 */
import { connectInBackground, packageVersion, settlesWithin, type Logger, type MqttClient, type MqttTls } from '../common/index.ts';

/** ms a stopping node waits for its GONE and status publishes to be acknowledged. */
const CLOSE_WAIT_MS = 2_000;
import type { DeviceProfile } from '../hardware/index.ts';
import { dynasplit, NodeAnnouncement, NodeStatus, topics, type NodeAnnouncementProperties, type NodeRole, type NodeStatusProperties } from '../schemas/index.ts';

export interface AnnounceOptions {
  mqttUrl: string;
  mqttTls?: MqttTls;
  role: NodeRole;
  nodeId: string;
  /** Edge: its edge class; cloud: its worker group. */
  nodeClass: string;
  profile: DeviceProfile;
  /** Served models and their cuts ('input', tensor names, 'output'). */
  models: { name: string; cuts: readonly string[] }[];
  /** 'measured', 'modelled' or '' (not metered). */
  energySource: string;
}

export interface Announcer {
  /** Announces the node UP (retained): it takes work now. Before, it is announced STARTING. */
  serving(): void;
  /** Publishes (retained) the node's policy status; the latest is sent once connected. */
  publishStatus(status: NodeStatusProperties): void;
  /** Marks the node GONE (retained), clears its status, disconnects. Idempotent. */
  close(): Promise<void>;
}

/** The announcement of a node, pure (the time aside). */
export function announcementOf(options: AnnounceOptions, state: dynasplit.v1.NodeAnnouncement.State, nowMs = Date.now()): NodeAnnouncementProperties {
  return {
    node_id: options.nodeId,
    role: options.role,
    node_class: options.nodeClass,
    state,
    profile_json: JSON.stringify(options.profile),
    models: options.models.map((m) => ({ name: m.name, cuts: [...m.cuts] })),
    energy_source: options.energySource,
    software_version: packageVersion(),
    announced_at_ms: nowMs,
  };
}

const encode = (announcement: NodeAnnouncementProperties): Buffer => Buffer.from(NodeAnnouncement.encode(NodeAnnouncement.create(announcement)).finish());

export function startAnnouncer(options: AnnounceOptions, logger: Logger): Announcer {
  const topic = topics.announcement(options.role, options.nodeId);
  const statusTopic = topics.nodeStatus(options.nodeId);
  const retained = { qos: 1 as const, retain: true };
  let status: Buffer | undefined;
  let state = NodeAnnouncement.State.STARTING;
  const announce = (c: MqttClient) => {
    c.publish(topic, encode(announcementOf(options, state)), retained, (err) => {
      if (err) logger.warn({ err: err.message }, 'node announcement not published');
    });
  };
  const publishUp = (c: MqttClient) => {
    announce(c);
    if (status) c.publish(statusTopic, status, retained);
  };
  // Cloud accounts may use `<id>-<suffix>`; an edge's `<id>-a` is granted beside `<id>` and `<id>-t` (broker/client-ids.ts).
  const connection = connectInBackground(options.mqttUrl, {
    clientId: `${options.nodeId}-a`,
    ...options.mqttTls,
    logger,
    without: 'node not announced: the optimizer does not see this node (no MQTT broker reachable)',
    will: { topic, payload: encode(announcementOf(options, NodeAnnouncement.State.GONE)), qos: 1, retain: true },
  }, (c) => {
    publishUp(c);
    c.on('connect', () => publishUp(c));
    logger.info({ topic }, 'node announced');
  });
  let closing: Promise<void> | undefined;
  return {
    serving() {
      if (state === NodeAnnouncement.State.UP) return;
      state = NodeAnnouncement.State.UP;
      if (connection.client) announce(connection.client);
    },
    publishStatus(next) {
      status = Buffer.from(NodeStatus.encode(NodeStatus.create({ ...next, node_id: options.nodeId, node_class: options.nodeClass })).finish());
      connection.client?.publish(statusTopic, status, retained, (err) => {
        if (err) logger.warn({ err: err.message }, 'node status not published');
      });
    },
    close: () => (closing ??= (async () => {
      const c = await connection.stop();
      if (!c) return;
      let settled = !c.connected;
      if (c.connected) {
        const goodbye = (async () => {
          await c.publishAsync(topic, encode(announcementOf(options, NodeAnnouncement.State.GONE)), retained).catch(() => undefined);
          // An empty retained message removes the status (MQTT 3.1.1 §3.3.1.3): a stopped node refuses nothing.
          if (status) await c.publishAsync(statusTopic, Buffer.alloc(0), retained).catch(() => undefined);
          settled = true;
        })();
        // A broker that never acknowledges (a refused publish closes the connection) must not hold up the
        // node's stop: the last will says GONE in that case.
        await settlesWithin(goodbye, CLOSE_WAIT_MS);
      }
      await c.endAsync(!settled || !c.connected);
    })()),
  };
}
