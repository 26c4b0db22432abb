/**
 * An MQTT connection a node serves without (a NATS-only worker's announcements and policies): opened
 * in the background and, while the broker cannot be reached, tried again until it can. A node started
 * before its broker (systemd or compose bringing both up) would otherwise never announce itself or
 * follow a policy. Once connected, MQTT.js reconnects by itself; a refused login is not retried.
 */
import { isDynasplitError } from './errors.ts';
import type { Logger } from './log.ts';
import { connectMqtt, type MqttClient, type MqttConnectOptions } from './mqtt.ts';

/** ms before the second try; each later wait doubles, up to MAX_RETRY_MS. */
export const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;

export interface BackgroundMqttOptions extends MqttConnectOptions {
  /** Logs the first failure (a warning: what the node goes without until the broker is there), and a refusal. */
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** What is missing while there is no connection, for the warning: "node not announced: ...". */
  without: string;
  /** ms before the second try (default FIRST_RETRY_MS); doubles up to 30 s. */
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
  const { logger, without, retryMs = FIRST_RETRY_MS, ...connect } = options;
  let client: MqttClient | undefined;
  let stopped = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const pause = (ms: number) => new Promise<void>((resolve) => {
    wake = resolve;
    timer = setTimeout(resolve, ms);
  });
  const trying = (async () => {
    for (let tries = 1, wait = retryMs; !stopped; tries++, wait = Math.min(wait * 2, MAX_RETRY_MS)) {
      try {
        const c = await connectMqtt(url, { ...connect, logger });
        if (stopped) return c;
        client = c;
        if (tries > 1) logger.info({ clientId: connect.clientId, tries }, 'MQTT connection made');
        connected(c);
        return c;
      } catch (err) {
        if (isDynasplitError(err) && !err.retryable) {
          logger.error({ clientId: connect.clientId, err: err.message }, `${without}; not retried`);
          return undefined;
        }
        if (tries === 1) logger.warn({ clientId: connect.clientId, err: (err as Error).message, retryMs: wait }, `${without}; trying again until the broker is there`);
      }
      if (!stopped) await pause(wait);
    }
    return undefined;
  })();
  return {
    get client() { return client; },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      return trying;
    },
  };
}
