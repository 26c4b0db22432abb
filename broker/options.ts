/**
 * The broker's options in one place: typed, with defaults and units, validated by one function.
 * Only the CLI reads argv and the environment; it hands the result to `parseBrokerOptions`.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { ROLES, type Role } from './users.ts';

/** Interface to listen on; default '0.0.0.0' (every IPv4 interface). Tests pass '127.0.0.1'. */
export const DEFAULT_HOST = '0.0.0.0';
/** TCP port; default 1883, the IANA port for MQTT without TLS. */
export const DEFAULT_PORT = 1883;
/** bytes; default 64 MiB. A VGG16 cut tensor is up to 12.8 MB fp32 and travels in one MQTT packet. */
export const DEFAULT_MAX_PACKET_BYTES = 64 * 1024 * 1024;
/**
 * bytes; default 16 MiB + 1 KiB: the largest packet a sensor account may send. A sensor sends frames
 * only, and an edge node refuses a frame over its `maxFrameBytes` (default 16 MiB) anyway; the 1 KiB
 * covers the PUBLISH's own header (at most 5 bytes), topic (`dynasplit/v1/frames/` and an id of at
 * most 128 bytes, with its 2-byte length) and packet id (2 bytes). Lower it to what the models need
 * (docs/security.md "Limits"): a frame is its input tensor (elements x 4 bytes as fp32) plus at most
 * ~1 KiB of fields.
 */
export const DEFAULT_SENSOR_MAX_PACKET_BYTES = 16 * 1024 * 1024 + 1024;
/** bytes per role; sensors only by default, the other roles have maxPacketBytes (a tail tensor needs it). */
export const DEFAULT_MAX_PACKET_BYTES_BY_ROLE: Readonly<Partial<Record<Role, number>>> = Object.freeze({ sensor: DEFAULT_SENSOR_MAX_PACKET_BYTES });
/**
 * bytes/s; default 16 MiB/s: what one sensor account may publish, sustained (a burst of 2 s of it,
 * and at least one packet, on top). A camera sending 224x224 RGB frames as fp32 (602 KB each) at
 * 25 frames/s publishes 15 MB/s; the soak's frames (12 KB) at 10x its sustainable rate, 11 MB/s.
 */
export const DEFAULT_SENSOR_PUBLISH_BYTES_PER_SECOND = 16 * 1024 * 1024;
/** bytes/s per role; sensors only by default. */
export const DEFAULT_PUBLISH_BYTES_PER_SECOND_BY_ROLE: Readonly<Partial<Record<Role, number>>> = Object.freeze({ sensor: DEFAULT_SENSOR_PUBLISH_BYTES_PER_SECOND });
/** ms; default 5000. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5000;
/**
 * bytes; default 64 KiB. A CONNECT carries a client id, credentials and a will: a few hundred bytes
 * in this system; the bound is what a connection may send before its login is accepted.
 */
export const DEFAULT_MAX_CONNECT_BYTES = 64 * 1024;
/** ms; default 10 s: how long a new connection may take to send its whole CONNECT. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/**
 * ms; default 10 s: how long a client's queued outgoing bytes may make no progress (nothing of them
 * taken by the socket) before the client is disconnected.
 */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

/**
 * bytes; the largest MQTT control packet there is: 1 header byte, 4 length bytes and a Remaining
 * Length of at most 268,435,455 (MQTT 3.1.1 §2.2.3).
 */
export const MQTT_MAX_PACKET_BYTES = 1 + 4 + 268_435_455;

export interface BrokerOptions {
  /** Interface to listen on; default '0.0.0.0'. */
  host: string;
  /** TCP port for MQTT; default 1883; 0 = an ephemeral port (read it back from the handle). */
  port: number;
  /**
   * Port of the MQTT-over-WebSocket listener (any path; clients conventionally use `/mqtt`);
   * default undefined = no WebSocket listener; 0 = an ephemeral port.
   */
  wsPort?: number;
  /**
   * bytes; default 64 MiB. Largest control packet a client may send, counted as MQTT 5 §3.1.2.11.4
   * counts it (the whole packet, fixed header included). Larger packets close the connection.
   */
  maxPacketBytes: number;
  /**
   * bytes per role; default { sensor: 16 MiB + 1 KiB }. Once a client has logged in (a users file),
   * the largest packet its account may send: the account's own `maxPacketBytes` in the users file,
   * else its role's entry here, else maxPacketBytes, and never more than maxPacketBytes. A packet
   * over it closes the connection as soon as its fixed header announces it (./packet-size.ts). Given
   * entries replace the defaults' role by role. Without a users file there are no roles: only
   * maxPacketBytes applies.
   */
  maxPacketBytesByRole: Partial<Record<Role, number>>;
  /**
   * bytes/s per role; default { sensor: 16 MiB/s }. Once logged in (a users file), what an account
   * may publish (topic and payload bytes), sustained, with a burst of 2 s of it (at least one packet
   * of its bound); a PUBLISH beyond it closes the connection (DYNASPLIT_ERR_RATE_LIMITED,
   * ./publish-rate.ts). Counted per account across its connections. Given entries replace the
   * defaults' role by role; roles without an entry are not bounded. Without a users file: none.
   */
  publishBytesPerSecondByRole: Partial<Record<Role, number>>;
  /** ms; default 5000. How long `close()` waits for clients to go before cutting them off. */
  closeTimeoutMs: number;
  /**
   * bytes; default 64 KiB. What a connection may send before its CONNECT is accepted (CONNACK 0):
   * the CONNECT itself and anything sent after it. More closes the connection as soon as a packet
   * header announces it, before the body is buffered (./packet-size.ts). A maxPacketBytes below it
   * bounds the CONNECT too.
   */
  maxConnectBytes: number;
  /** ms; default 10 s. A connection that has not sent a whole CONNECT by then is closed. */
  connectTimeoutMs: number;
  /**
   * bytes; default twice maxPacketBytes (128 MiB). Outgoing bytes a client's connection may hold
   * queued (written by the broker, not yet taken by the socket); more disconnects the client
   * (./outgoing-bound.ts). A QoS 1 message of a persistent session stays queued in its session.
   */
  maxQueueBytes?: number;
  /**
   * ms; default 10 s. A client whose queued outgoing bytes make no progress for this long is
   * disconnected, however few they are.
   */
  drainTimeoutMs: number;
  /**
   * s; default undefined = any keepalive. The longest keepalive a client may ask for in its CONNECT;
   * keepalive 0 (never ping) is refused too, with CONNACK 6 (aedes' code; MQTT 3.1.1 has none for
   * it), as Mosquitto's `max_keepalive` refuses it. A client that stops sending mid-packet is then
   * closed after 1.5 times its keepalive instead of holding what it sent for good (docs/security.md).
   */
  maxKeepaliveS?: number;
  /**
   * Port of the MQTT-over-TLS listener (conventionally 8883); default undefined = none; 0 = an
   * ephemeral port. Needs `certFile` and `keyFile`.
   */
  tlsPort?: number;
  /** PEM file: the TLS listener's certificate chain. */
  certFile?: string;
  /** PEM file: the TLS listener's private key. */
  keyFile?: string;
  /**
   * PEM file: the CA whose client certificates the TLS listener accepts; a verified certificate's CN
   * logs in as the account with that `certificateCn`. Default: no client certificates.
   */
  caFile?: string;
  /**
   * JSON users file (broker/users.ts): turns on authentication and the ACLs on every listener.
   * Default undefined: anyone may connect and do anything (an open broker, for development only).
   */
  usersFile?: string;
  /**
   * Where sessions, subscriptions, retained messages and queued QoS 1/2 messages are kept
   * (./session-store.ts). Default undefined: in memory, gone when the broker process ends.
   */
  persistence?: PersistenceOptions;
}

export interface PersistenceOptions {
  /** LevelDB directory; created when missing; one broker at a time (LevelDB's LOCK file). */
  dir: string;
}

export const DEFAULT_BROKER_OPTIONS: Readonly<BrokerOptions> = Object.freeze({
  host: DEFAULT_HOST,
  port: DEFAULT_PORT,
  wsPort: undefined,
  maxPacketBytes: DEFAULT_MAX_PACKET_BYTES,
  maxPacketBytesByRole: DEFAULT_MAX_PACKET_BYTES_BY_ROLE,
  publishBytesPerSecondByRole: DEFAULT_PUBLISH_BYTES_PER_SECOND_BY_ROLE,
  closeTimeoutMs: DEFAULT_CLOSE_TIMEOUT_MS,
  maxConnectBytes: DEFAULT_MAX_CONNECT_BYTES,
  connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
  maxQueueBytes: undefined,
  drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
  maxKeepaliveS: undefined,
  tlsPort: undefined,
  certFile: undefined,
  keyFile: undefined,
  caFile: undefined,
  usersFile: undefined,
  persistence: undefined,
});

/** Fills defaults and validates; throws DYNASPLIT_ERR_BAD_ARGS naming the first bad option. */
export function parseBrokerOptions(partial: Partial<BrokerOptions> = {}): BrokerOptions {
  const unknown = Object.keys(partial).find((key) => !(key in DEFAULT_BROKER_OPTIONS));
  if (unknown !== undefined) throw bad(unknown, partial[unknown as keyof BrokerOptions], 'is not a broker option');
  // An explicit undefined means "the default", as an absent key does.
  const given = Object.fromEntries(Object.entries(partial).filter(([, value]) => value !== undefined));
  const options: BrokerOptions = { ...DEFAULT_BROKER_OPTIONS, ...given };
  options.maxPacketBytesByRole = byRole('maxPacketBytesByRole', partial.maxPacketBytesByRole, DEFAULT_MAX_PACKET_BYTES_BY_ROLE, 1024);
  // 1 KiB/s floor: below it a login's own SUBSCRIBE and a result or two would trip it.
  options.publishBytesPerSecondByRole = byRole('publishBytesPerSecondByRole', partial.publishBytesPerSecondByRole,
    DEFAULT_PUBLISH_BYTES_PER_SECOND_BY_ROLE, 1024);
  if (typeof options.host !== 'string' || options.host.trim() === '') throw bad('host', options.host, 'must be a non-empty host name or address');
  checkInteger('port', options.port, 0, 65_535);
  if (options.wsPort !== undefined) checkInteger('wsPort', options.wsPort, 0, 65_535);
  if (options.wsPort !== undefined && options.wsPort !== 0 && options.wsPort === options.port) {
    throw bad('wsPort', options.wsPort, 'must differ from port');
  }
  // 1 KiB floor: below it even a CONNECT with a long client id and will message might not fit.
  checkInteger('maxPacketBytes', options.maxPacketBytes, 1024, MQTT_MAX_PACKET_BYTES);
  checkInteger('closeTimeoutMs', options.closeTimeoutMs, 0, 600_000);
  checkLimits(options);
  checkTls(options);
  if (options.usersFile !== undefined) checkPath('usersFile', options.usersFile);
  if (options.persistence !== undefined) checkPersistence(options.persistence);
  return options;
}

/**
 * The connection limits (docs/security.md "Limits"). A CONNECT needs at least 1 KiB (a long client
 * id and credentials); a queue must hold at least one packet of the largest size, or a client that
 * is merely busy for a moment would be cut off by one message.
 */
function checkLimits(options: BrokerOptions): void {
  checkInteger('maxConnectBytes', options.maxConnectBytes, 1024, MQTT_MAX_PACKET_BYTES);
  checkInteger('connectTimeoutMs', options.connectTimeoutMs, 100, 600_000);
  if (options.maxQueueBytes !== undefined) checkInteger('maxQueueBytes', options.maxQueueBytes, options.maxPacketBytes, 2 ** 32);
  checkInteger('drainTimeoutMs', options.drainTimeoutMs, 100, 600_000);
  // MQTT's keepalive is a 16-bit count of seconds (MQTT 3.1.1 §3.1.2.10).
  if (options.maxKeepaliveS !== undefined) checkInteger('maxKeepaliveS', options.maxKeepaliveS, 1, 65_535);
}

/**
 * The defaults with the given roles replaced; each a role of ./users.ts with an integer from `min`
 * (1 KiB for packets, as maxPacketBytes: a SUBSCRIBE or a will must still fit).
 */
function byRole(name: string, given: unknown, defaults: Readonly<Partial<Record<Role, number>>>, min: number): Partial<Record<Role, number>> {
  if (given === undefined) return { ...defaults };
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw bad(name, given, 'must be { ROLE: NUMBER, ... }');
  for (const [role, value] of Object.entries(given)) {
    if (!(ROLES as readonly string[]).includes(role)) throw bad(name, given, `names '${role}', not one of ${ROLES.join(', ')}`);
    checkInteger(`${name}.${role}`, value, min, MQTT_MAX_PACKET_BYTES);
  }
  return { ...defaults, ...(given as Partial<Record<Role, number>>) };
}

/** bytes; the outgoing queue bound in force: the option, or twice maxPacketBytes. */
export function queueBytesOf(options: Pick<BrokerOptions, 'maxQueueBytes' | 'maxPacketBytes'>): number {
  return options.maxQueueBytes ?? 2 * options.maxPacketBytes;
}

function checkTls(options: BrokerOptions): void {
  for (const name of ['certFile', 'keyFile', 'caFile'] as const) {
    const value = options[name];
    if (value === undefined) continue;
    checkPath(name, value);
    if (options.tlsPort === undefined) throw bad(name, value, 'needs tlsPort (it configures the TLS listener)');
  }
  if (options.tlsPort === undefined) return;
  checkInteger('tlsPort', options.tlsPort, 0, 65_535);
  if (options.tlsPort !== 0 && (options.tlsPort === options.port || options.tlsPort === options.wsPort)) {
    throw bad('tlsPort', options.tlsPort, 'must differ from port and wsPort');
  }
  if (options.certFile === undefined || options.keyFile === undefined) throw bad('tlsPort', options.tlsPort, 'needs certFile and keyFile');
}

function checkPersistence(persistence: unknown): void {
  const dir = (persistence as Partial<PersistenceOptions> | null)?.dir;
  if (typeof persistence !== 'object' || typeof dir !== 'string' || dir.trim() === '') {
    throw bad('persistence', persistence, 'must be { dir: DIRECTORY }');
  }
}

function checkPath(name: string, value: unknown): void {
  if (typeof value !== 'string' || value.trim() === '') throw bad(name, value, 'must be a file path');
}

function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw bad(name, value, `must be an integer from ${min} to ${max}`);
  }
}

function bad(name: string, value: unknown, rule: string): DynasplitError {
  return new DynasplitError(ErrorCodes.BAD_ARGS, `broker option ${name} ${rule}, got ${JSON.stringify(value) ?? String(value)}`,
    { details: { option: name } });
}
