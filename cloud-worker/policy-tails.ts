/**
 * Follows the policies the optimizer publishes (retained, one per model and class of edge nodes) and
 * loads the tails they name before the edges ask for them (./warm-up.ts): without it a worker's first
 * request for each new cut of a policy waited for its session, past its budget for a large model.
 *
 * The policies arrive on an MQTT connection of its own (client id `<workerId>-p`; a cloud account may
 * use `<name>-<suffix>`, broker/client-ids.ts), whatever the tensor transport. Policies are loaded one
 * after the other, never evicting: a policy naming more tails than the budget holds gets those that
 * fit, in its order. A malformed policy, a broker that cannot be reached (tried again until it can,
 * common/mqtt-background.ts) or refuses the subscription costs only the warm-up (each is logged):
 * the tails then load on first request, as before.
 */
import { connectInBackground, endMqtt, subscribeAcrossReconnects, type Logger, type MqttTls } from '../common/index.ts';
import type { ModelStore } from '../model/index.ts';
import { decodePolicy } from '../policy/index.ts';
import { topics } from '../schemas/index.ts';
import { tailCuts, warmTails } from './warm-up.ts';

export interface PolicyTailsOptions {
  mqttUrl: string;
  mqttTls?: MqttTls;
  workerId: string;
}

export interface PolicyTails {
  /** Policies whose tails were loaded (or tried), and those that could not be read. */
  stats(): { policies: number; malformed: number };
  /** Disconnects; a warm-up in progress finishes first. Idempotent. */
  close(): Promise<void>;
}

/** Subscribes to the policies of the served models, in the background: never throws. */
export function followPolicies(models: ModelStore, options: PolicyTailsOptions, logger: Logger): PolicyTails {
  const counts = { policies: 0, malformed: 0 };
  let queue: Promise<void> = Promise.resolve();
  const onPolicy = (payload: Buffer): void => {
    if (payload.length === 0) return; // a cleared policy
    let policy;
    try {
      policy = decodePolicy(payload);
    } catch (err) {
      counts.malformed++;
      logger.warn({ err }, 'policy not read; its tails load on first request');
      return;
    }
    if (!models.names().includes(policy.model)) return;
    const { model } = policy;
    queue = queue.then(async () => {
      const warmed = await warmTails(models, model, tailCuts(policy), logger);
      counts.policies++;
      logger.info({ model, version: policy.version, edgeClass: policy.edge_class, ...warmed }, 'tails of a policy loaded');
    });
  };
  const connection = connectInBackground(options.mqttUrl, {
    clientId: `${options.workerId}-p`,
    ...options.mqttTls,
    logger,
    without: 'policies not followed (no MQTT broker reachable): tails load on first request',
  }, (client) => {
    client.on('message', (_topic, payload) => onPolicy(payload));
    subscribeAcrossReconnects(client, models.names().map((m) => topics.policies(m)), { qos: 1 }).then((grants) => {
      const refused = grants.filter((g) => g.qos === 128).map((g) => g.topic);
      if (refused.length > 0) logger.warn({ filters: refused }, 'policies refused by the broker; tails load on first request');
    }, (err: Error) => logger.warn({ err: err.message }, 'policies not subscribed; tails load on first request'));
  });
  let closing: Promise<void> | undefined;
  return {
    stats: () => ({ ...counts }),
    close: () => (closing ??= (async () => {
      const client = await connection.stop();
      if (client) await endMqtt(client);
      await queue;
    })()),
  };
}
