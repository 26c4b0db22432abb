/**
 * An MQTT connection a node serves without (a NATS-only worker's announcements and policies): opened
 * in the background and, while the broker cannot be reached, tried again until it can
 * (./keep-trying.ts). A node started before its broker (systemd or compose bringing both up) would
 * otherwise never announce itself or follow a policy. Once connected, MQTT.js reconnects by itself;
 * a refused login is not retried.
 */
import { keepTrying } from './keep-trying.ts';
import type { Logger } from './log.ts';
import { connectMqtt, type MqttClient, type MqttConnectOptions } from './mqtt.ts';

export interface BackgroundMqttOptions extends MqttConnectOptions {
  /** Logs the first failure (a warning: what the node goes without until the broker is there), and a refusal. */
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** What is missing while there is no connection, for the warning: "node not announced: ...". */
  without: string;
  /** ms before the second try (default 1 s); doubles up to 30 s. */
  retryMs?: number;
}

export interface BackgroundMqtt {
  /** The client once it has connected. */
  readonly client: MqttClient | undefined;
  /** Stops trying; resolves, once a try under way has settled, with the client if one connected (the caller ends it). */
  stop(): Promise<MqttClient | undefined>;
}

/** Connects in the background, calling `connected` once with the client; never throws. */
export function connectInBackground(url: string, options: BackgroundMqttOptions, connected: (client: MqttClient) => void): BackgroundMqtt {
  const { logger, without, retryMs, ...connect } = options;
  const { clientId } = connect;
  let client: MqttClient | undefined;
  let stopped = false;
  const trying = keepTrying(async (tries) => {
    const c = await connectMqtt(url, { ...connect, logger });
    if (stopped) return c;
    client = c;
    if (tries > 1) logger.info({ clientId, tries }, 'MQTT connection made');
    connected(c);
    return c;
  }, {
    retryMs,
    failed: (err, tries, waitMs) => {
      if (tries === 1) logger.warn({ clientId, err: (err as Error).message, retryMs: waitMs }, `${without}; trying again until the broker is there`);
    },
  });
  const settled = trying.result.catch((err: Error) => {
    logger.error({ clientId, err: err.message }, `${without}; not retried`);
    return undefined;
  });
  return {
    get client() { return client; },
    stop: () => {
      stopped = true;
      trying.stop();
      return settled;
    },
  };
}
