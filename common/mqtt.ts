/** Connecting to an MQTT broker the same way in every component (MQTT 3.1.1, so aedes and Mosquitto both serve it). */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { DynasplitError, ErrorCodes } from './errors.ts';

export type { MqttClient } from 'mqtt';

export interface MqttConnectOptions {
  clientId: string;
  /** false: a persistent session, so QoS 1 messages wait for the client across reconnects. */
  clean?: boolean;
  /** ms; default 5000 */
  connectTimeoutMs?: number;
  username?: string;
  password?: string;
}

export async function connectMqtt(url: string, options: MqttConnectOptions): Promise<MqttClient> {
  const settings: IClientOptions = {
    clientId: options.clientId,
    clean: options.clean ?? true,
    protocolVersion: 4,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    reconnectPeriod: 1000,
    username: options.username,
    password: options.password,
  };
  try {
    const client = await mqtt.connectAsync(url, settings, false);
    noDelay(client);
    client.on('connect', () => noDelay(client));
    return client;
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.TRANSPORT, `cannot connect to the MQTT broker at ${url}: ${(cause as Error).message}`, {
      cause,
      retryable: true,
      details: { url },
    });
  }
}

/**
 * Small QoS 1 packets on a socket with Nagle's algorithm wait for the previous packet's ACK, which
 * the peer delays (up to 40 ms on Linux): request/response latency jumps from sub-millisecond to
 * tens of ms. MQTT.js does not set TCP_NODELAY, so we do, on every (re)connection.
 */
function noDelay(client: MqttClient): void {
  const stream = client.stream as { setNoDelay?: (on: boolean) => void } | undefined;
  stream?.setNoDelay?.(true);
}
