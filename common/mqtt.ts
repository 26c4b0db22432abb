/** Connecting to an MQTT broker the same way in every component (MQTT 3.1.1, so aedes and Mosquitto both serve it). */
import { readFile } from 'node:fs/promises';
import { once, type EventEmitter } from 'node:events';
import mqtt, { UniqueMessageIdProvider, type IClientOptions, type IClientSubscribeOptions, type ISubscriptionGrant, type ISubscriptionMap, type MqttClient } from 'mqtt';
import { coalesceWrites } from './coalesce-writes.ts';
import { DynasplitError, ErrorCodes } from './errors.ts';
import { shareStoredPayloads } from './mqtt-internals.ts';
import type { Logger } from './log.ts';
import { settlesWithin } from './settles.ts';

export type { MqttClient } from 'mqtt';

export interface MqttConnectOptions {
  clientId: string;
  /** false: a persistent session, so QoS 1 messages wait for the client across reconnects. */
  clean?: boolean;
  /** ms; default 5000 */
  connectTimeoutMs?: number;
  /** Also accepted in the URL (`mqtt://user:pass@host:1883`, percent-encoded); the URL's win. */
  username?: string;
  password?: string;
  /**
   * TLS (`mqtts://` URLs; default port 8883): PEM contents, not paths (see `loadMqttTls`). `ca`
   * trusts a private CA instead of the system's; `cert` and `key` present a client certificate.
   */
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** default true: refuse a server whose certificate does not verify. false only for testing. */
  rejectUnauthorized?: boolean;
  /**
   * Called with the client before it connects. A persistent session gets its queued messages right
   * after the CONNACK, before the connection's promise settles: handlers attached here see them.
   */
  prepare?: (client: MqttClient) => void;
  /** Where the connection's losses, recoveries and a shared client id are logged once it is up (`logConnection`); none: not logged. */
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** The last will the broker publishes when the connection is lost without a DISCONNECT (MQTT 3.1.1 §3.1.2.5). */
  will?: IClientOptions['will'];
}

/** CONNACK return codes that credentials will not fix by retrying (MQTT 3.1.1 §3.2.2.3). */
const REFUSED = new Map([[2, 'identifier rejected'], [4, 'bad user name or password'], [5, 'not authorized']]);

/** URL schemes MQTT.js connects with in Node: TCP, TLS, WebSocket and secure WebSocket. */
export const MQTT_SCHEMES = ['mqtt', 'mqtts', 'tcp', 'tls', 'ssl', 'ws', 'wss'] as const;

/**
 * Refuses an MQTT broker address that is not a URL with one of MQTT_SCHEMES. Without a scheme,
 * `localhost:1883` parses as scheme `localhost:` and MQTT.js fails later with a protocol error
 * ("Invalid header flag bits") far from the mistake. `source` names where the value came from.
 */
export function checkMqttUrl(url: string, source = 'the MQTT URL'): string {
  let scheme: string | undefined;
  try {
    scheme = new URL(url).protocol.replace(/:$/, '');
  } catch {
    scheme = undefined;
  }
  if (scheme !== undefined && (MQTT_SCHEMES as readonly string[]).includes(scheme)) return url;
  const hint = /^[\w.-]+:\d+$/.test(url) || /^[\w.-]+$/.test(url) ? ` (did you mean mqtt://${url}?)` : '';
  throw new DynasplitError(ErrorCodes.BAD_ARGS,
    `${source} must be a URL with a scheme, mqtt://HOST:PORT (or ${MQTT_SCHEMES.filter((s) => s !== 'mqtt').join(', ')}); got '${redactUrl(url)}'${hint}`,
    { details: { url: redactUrl(url) } });
}

export async function connectMqtt(url: string, options: MqttConnectOptions): Promise<MqttClient> {
  checkMqttUrl(url);
  const settings: IClientOptions = {
    clientId: options.clientId,
    clean: options.clean ?? true,
    protocolVersion: 4,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    reconnectPeriod: 1000,
    username: options.username,
    password: options.password,
    // MQTT.js's default numbers QoS 1 publishes round a 16-bit counter even while earlier ones still
    // wait for their PUBACK: past 65,535 in flight (a sensor publishing while its broker is away or
    // slow) a new publish takes a live one's id, and the older publish and its callback are lost.
    // This provider hands out free ids only; without one, a publish waits in MQTT.js for an id.
    messageIdProvider: new UniqueMessageIdProvider(),
  };
  // Only what was given: mqtt.js treats a present-but-undefined TLS key differently from an absent one.
  if (options.will !== undefined) settings.will = options.will;
  if (options.ca !== undefined) settings.ca = options.ca;
  if (options.cert !== undefined) settings.cert = options.cert;
  if (options.key !== undefined) settings.key = options.key;
  if (options.rejectUnauthorized !== undefined) settings.rejectUnauthorized = options.rejectUnauthorized;
  try {
    const { logger, prepare } = options;
    const client = await open(url, settings, logger ? (c) => { logConnection(c, logger, options.clientId); prepare?.(c); } : prepare);
    noDelay(client);
    coalesce(client);
    client.on('connect', () => { noDelay(client); coalesce(client); });
    return client;
  } catch (cause) {
    const safeUrl = redactUrl(url);
    const returnCode = (cause as { code?: unknown }).code;
    const refused = typeof returnCode === 'number' ? REFUSED.get(returnCode) : undefined;
    throw new DynasplitError(ErrorCodes.TRANSPORT, `cannot connect to the MQTT broker at ${safeUrl}: ${(cause as Error).message}`, {
      cause,
      // A refused login stays refused until someone changes the credentials or the ACL.
      retryable: refused === undefined,
      details: { url: safeUrl, ...(refused ? { returnCode, refused } : {}) },
    });
  }
}

/** mqtt.connectAsync without retries before the first CONNACK, with a hook before the connection. */
function open(url: string, settings: IClientOptions, prepare?: (client: MqttClient) => void): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, settings);
    // Before anything is published: MQTT.js would copy every QoS 1 payload for its store (./mqtt-internals.ts).
    shareStoredPayloads(client);
    prepare?.(client);
    const settle = (err?: Error): void => {
      client.off('connect', onConnect).off('error', onError).off('close', onClose);
      if (!err) return resolve(client);
      client.end(true);
      reject(err);
    };
    const onConnect = (): void => settle();
    const onError = (err: Error): void => settle(err);
    const onClose = (): void => settle(new Error("Couldn't connect to server"));
    client.on('connect', onConnect).on('error', onError).on('close', onClose);
  });
}

/** PEM contents of a private CA and/or a client certificate, for mqtts:// connections. */
export type MqttTls = Pick<MqttConnectOptions, 'ca' | 'cert' | 'key'>;

/** Reads PEM files for `connectMqtt`'s TLS options; FILE_NOT_FOUND naming the one that cannot be read. */
export async function loadMqttTls(files: { caFile?: string; certFile?: string; keyFile?: string }):
  Promise<Pick<MqttConnectOptions, 'ca' | 'cert' | 'key'>> {
  const read = async (file: string | undefined): Promise<Buffer | undefined> => {
    if (file === undefined) return undefined;
    try {
      return await readFile(file);
    } catch (cause) {
      throw new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `cannot read ${file}: ${(cause as Error).message}`, { cause, details: { file } });
    }
  };
  const [ca, cert, key] = await Promise.all([read(files.caFile), read(files.certFile), read(files.keyFile)]);
  if ((cert === undefined) !== (key === undefined)) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, 'a client certificate needs both its certificate and its key file');
  }
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//***@');
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

/** What the client writes in one turn of the event loop leaves in one writev (./coalesce-writes.ts). */
function coalesce(client: MqttClient): void {
  const stream = client.stream as Parameters<typeof coalesceWrites>[0] | undefined;
  if (stream && typeof stream.cork === 'function' && typeof stream.uncork === 'function') coalesceWrites(stream);
}

/** ms `endMqtt` waits, by default, for a live broker to acknowledge what is still outgoing. */
export const END_GRACE_MS = 5_000;

/**
 * Disconnects, waiting (up to `graceMs`) for the broker to acknowledge the QoS 1/2 messages still
 * outgoing. MQTT.js's own `end()` waits for them without a bound, and stops reconnecting first: with
 * the broker gone and a message outgoing it never returns (an edge answering its last frames while
 * the broker stopped before it could not be stopped by SIGTERM). Disconnected, nothing can be
 * acknowledged, so it closes at once; past the grace it drops the socket. What was not acknowledged
 * is lost to this client: a durable node keeps it in its journal and sends it again at its next start.
 */
export async function endMqtt(client: MqttClient, graceMs = END_GRACE_MS): Promise<void> {
  if (!client.connected) {
    await client.endAsync(true);
    return;
  }
  const ended = await settlesWithin(client.endAsync(), graceMs);
  // end() is under way and a second end() returns at once without forcing: drop the socket instead.
  if (!ended) client.stream?.destroy();
}

/** ms a subscription waits for its connection to come back after the broker closed it before the SUBACK. */
const RESUBSCRIBE_WAIT_MS = 10_000;

/**
 * `client.subscribeAsync` that outlives the broker closing the connection before its SUBACK: MQTT.js
 * rejects the pending subscription ("Connection closed") and reconnects, and this subscribes again
 * once the client is back, up to `tries` times, and returns that SUBACK's grants. (MQTT.js keeps
 * the filters to send again after a reconnect, and a plain second subscribeAsync would send
 * nothing and resolve with no grants: the retry asks it to send them.) A client being ended, or one
 * not back within RESUBSCRIBE_WAIT_MS, fails as subscribeAsync does. aedes closes a persistent
 * session's connection when a redelivery finds its packet gone: a restarted edge's start failed so.
 */
export async function subscribeAcrossReconnects(client: MqttClient, filters: string | string[], options: IClientSubscribeOptions, tries = 3): Promise<ISubscriptionGrant[]> {
  const again: ISubscriptionMap = Object.fromEntries((Array.isArray(filters) ? filters : [filters]).map((f) => [f, options]));
  again.resubscribe = true;
  for (let attempt = 1; ; attempt++) {
    try {
      // A copy each time: MQTT.js deletes `resubscribe` from the map it is given.
      return await (attempt === 1 ? client.subscribeAsync(filters, options) : client.subscribeAsync({ ...again }));
    } catch (err) {
      if (attempt >= tries || client.connected || client.disconnecting) throw err;
      const back = await once(client as unknown as EventEmitter, 'connect', { signal: AbortSignal.timeout(RESUBSCRIBE_WAIT_MS) }).then(() => true, () => false);
      if (!back) throw err;
    }
  }
}

/** A connection the broker closes within this many ms of opening counts as cut short. */
const SHORT_LIVED_MS = 5000;
/** Connections in a row cut short before the warning that another client may share the id. */
const SHORT_LIVED_IN_A_ROW = 3;

/**
 * Logs a connected client's losses and recoveries: a warning when the connection goes (mqtt.js then
 * reconnects every second), the time it was away when it is back, and, when the broker keeps closing
 * it soon after it opens, that another client may use the same client id (MQTT 3.1.1 §3.1.4-2: the
 * newer takes the id over and the broker closes the older, and two such clients take turns).
 */
export function logConnection(client: MqttClient, logger: Pick<Logger, 'info' | 'warn'>, clientId: string): void {
  let connectedAt: number | undefined;
  let lostAt: number | undefined;
  let shortLived = 0;
  client.on('close', () => {
    // Not connected yet (connectMqtt reports that), already lost, or closed by end(): nothing to say.
    if (connectedAt === undefined || lostAt !== undefined || client.disconnecting) return;
    lostAt = performance.now();
    shortLived = lostAt - connectedAt < SHORT_LIVED_MS ? shortLived + 1 : 0;
    if (shortLived >= SHORT_LIVED_IN_A_ROW) {
      logger.warn({ clientId, closedInARow: shortLived }, 'the broker keeps closing this MQTT connection soon after it opens: another client may be connected with the same client id (two nodes started with one --id)');
    } else {
      logger.warn({ clientId }, 'MQTT connection lost; reconnecting');
    }
  });
  client.on('connect', () => {
    connectedAt = performance.now();
    if (lostAt === undefined) return;
    logger.info({ clientId, awayMs: Math.round(connectedAt - lostAt) }, 'MQTT connection restored');
    lostAt = undefined;
  });
}
