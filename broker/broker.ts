/**
 * The dynasplit MQTT broker: aedes 1.x behind a TCP listener and, optionally, WebSocket and TLS ones,
 * with shared subscriptions (./shared-subscriptions.ts), a packet-size bound (./packet-size.ts) and,
 * given a users file, authentication and ACLs (./auth.ts; docs/security.md) and each account's own
 * packet and byte-rate bounds (./packet-size.ts accountBound, ./publish-rate.ts). Sessions live in memory
 * or, with `persistence: { dir }`, in LevelDB (./session-store.ts), and a QoS 1 PUBLISH is
 * acknowledged only once it is stored (./ack-after-store.ts). A client gets each message once even
 * when stores finish out of order (./delivery-dedupe.ts). Used standalone (`dynasplit broker`) and
 * embedded in-process by the demo and the tests.
 *
 * The extensions reach aedes through what it is given at construction: its hooks and a persistence
 * decorator (./persistence.ts). The few aedes internals they rely on are in ./aedes-internals.ts,
 * whose version gate makes the broker refuse to start on an aedes they were not checked against.
 *
 * MQTT 3.1 and 3.1.1 only: aedes 1.2 answers a CONNECT with protocol level 5 with return code 1,
 * "unacceptable protocol version" (lib/handlers/connect.js init, [MQTT-3.1.2-2]).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Server as TlsServer } from 'node:tls';
import type { Aedes, AedesOptions, AedesPublishPacket, Client, ConnectPacket, PublishPacket } from 'aedes';
import { pino, type Logger } from 'pino';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { coalesceWrites, DynasplitError, ErrorCodes } from '../common/index.ts';
import { AckAfterStore } from './ack-after-store.ts';
import { AuthRefusal, BrokerAuth, type AuthStats } from './auth.ts';
import { DynasplitAedes, replayingQueue } from './aedes-internals.ts';
import { DeliveryDedupe } from './delivery-dedupe.ts';
import { parseBrokerOptions, queueBytesOf, type BrokerOptions } from './options.ts';
import { boundOutgoing, type QueueViolation } from './outgoing-bound.ts';
import { accountBound, guardPacketSize, type PacketGuard, type PacketSizeViolation } from './packet-size.ts';
import { PublishRates } from './publish-rate.ts';
import { BrokerPersistence } from './persistence.ts';
import { openSessionStore, type SessionStore } from './session-store.ts';
import { SharedSubscriptions, type SharedSubscriptionStats } from './shared-subscriptions.ts';
import { createTlsListener, loadTlsFiles } from './tls.ts';
import { noteTakeover, tookOver } from './takeovers.ts';
import { loadUsersFile } from './users.ts';

export interface BrokerDeps {
  /** Parent logger; the broker logs through `child({ component: 'broker' })`. Default: silent. */
  logger?: Logger;
}

export interface BrokerStats {
  /** MQTT clients connected (CONNECT accepted) */
  clients: number;
  /** open network connections, including ones that have not sent CONNECT yet */
  connections: number;
  /** PUBLISH packets received from clients */
  published: number;
  /**
   * connections closed for a packet over maxPacketBytes or its account's bound
   * (maxPacketBytesByRole, users file), over maxConnectBytes before CONNACK, or a malformed length
   */
  oversized: number;
  /** of these, connections of a logged-in account closed for a packet over the account's own bound */
  oversizedByRole: Record<string, number>;
  /** connections closed for a PUBLISH over its account's byte rate (publishBytesPerSecondByRole) */
  rateLimited: number;
  /** clients disconnected for an outgoing queue over maxQueueBytes or stalled for drainTimeoutMs */
  slowConsumers: number;
  /** connections closed because a new connection took their client id over (./takeovers.ts) */
  takeovers: number;
  shared: SharedSubscriptionStats;
  /** refusals, when a users file turned authentication on */
  auth?: AuthStats;
}

export interface BrokerHandle {
  readonly aedes: Aedes;
  readonly options: Readonly<BrokerOptions>;
  /** the TCP port listened on (the real one when options.port is 0) */
  readonly tcpPort: number;
  /** the WebSocket port, when there is a WebSocket listener */
  readonly wsPort?: number;
  /** `mqtt://host:port` to connect to; a wildcard host (0.0.0.0, ::) becomes loopback */
  readonly url: string;
  /** `ws://host:port/mqtt`, when there is a WebSocket listener */
  readonly wsUrl?: string;
  /** the TLS port, when there is a TLS listener */
  readonly tlsPort?: number;
  /** `mqtts://host:port`, when there is a TLS listener */
  readonly tlsUrl?: string;
  stats(): BrokerStats;
  /** Stops accepting, disconnects clients, closes aedes, the listeners and the store; idempotent. */
  close(): Promise<void>;
}

interface Listeners {
  tcp: NetServer;
  http?: HttpServer;
  wss?: WebSocketServer;
  tls?: TlsServer;
}

export async function startBroker(options: Partial<BrokerOptions> = {}, deps: BrokerDeps = {}): Promise<BrokerHandle> {
  const opts = parseBrokerOptions(options);
  const logger = (deps.logger ?? pino({ level: 'silent' })).child({ component: 'broker' });
  // Files first: a bad users file or certificate fails the start before anything listens.
  const users = opts.usersFile === undefined ? undefined : await loadUsersFile(opts.usersFile);
  const tlsFiles = opts.tlsPort === undefined ? undefined : await loadTlsFiles(opts);
  const store = await openSessionStore(opts.persistence, logger);
  const auth = users === undefined ? undefined : new BrokerAuth(users, logger, store.owners);
  const rates = auth === undefined ? undefined : new PublishRates({
    publishBytesPerSecondByRole: opts.publishBytesPerSecondByRole,
    packetBytesOf: (account) => accountBound(account, opts).maxPacketBytes,
  }, (client) => auth.accountOf(client));
  const shared = new SharedSubscriptions(logger);
  let aedes: Aedes;
  try {
    aedes = await startAedes(store, shared, auth, rates, opts);
  } catch (cause) {
    await store.close();
    if (cause instanceof DynasplitError) throw cause;
    throw new DynasplitError(ErrorCodes.TRANSPORT, `broker cannot load its sessions from ${store.location}: ${(cause as Error).message}`,
      { cause, details: { persistenceDir: opts.persistence?.dir } });
  }
  const counters = { published: 0, oversized: 0, oversizedByRole: {} as Record<string, number>, slowConsumers: 0, takeovers: 0 };
  watchClients(aedes, logger, counters);

  const connections = new Set<Duplex>();
  const guards = new WeakMap<Duplex, PacketGuard>();
  // CONNACK 0 sent: the connection is logged in, and only its account's bound (with a users file)
  // or maxPacketBytes bounds its packets now. aedes emits this as it writes the CONNACK
  // (lib/handlers/connect.js), before it reads anything the client sends in answer.
  aedes.on('connackSent', (connack, client) => {
    if (connack.returnCode !== 0) return;
    const account = auth?.accountOf(client);
    guards.get(client.conn as Duplex)?.admit(account === undefined ? undefined : accountBound(account, opts));
  });
  const accept = (conn: Duplex, req?: IncomingMessage): void => {
    connections.add(conn);
    conn.once('close', () => connections.delete(conn));
    // One writev per turn of the event loop instead of one per packet (common/coalesce-writes.ts).
    coalesceWrites(conn);
    const limits = { maxQueueBytes: queueBytesOf(opts), drainTimeoutMs: opts.drainTimeoutMs, paced: () => replayingQueue(conn) };
    boundOutgoing(conn, limits, (violation) => {
      counters.slowConsumers += 1;
      return slowConsumerError(violation, opts);
    });
    aedes.handle(conn, req);
    guards.set(conn, guardPacketSize(conn, opts, (violation) => {
      counters.oversized += 1;
      const role = violation.account?.role;
      if (role !== undefined) counters.oversizedByRole[role] = (counters.oversizedByRole[role] ?? 0) + 1;
      return oversizeError(violation);
    }));
  };

  const listeners: Listeners = { tcp: createNetServer((socket) => { socket.setNoDelay(true); accept(socket); }) };
  let tcpPort: number;
  let wsPort: number | undefined;
  let tlsPort: number | undefined;
  try {
    tcpPort = await listen(listeners.tcp, opts.port, opts.host);
    if (opts.wsPort !== undefined) wsPort = await listenWebSocket(listeners, opts, accept, logger);
    if (tlsFiles) {
      listeners.tls = createTlsListener(tlsFiles, (socket) => { socket.setNoDelay(true); accept(socket); }, logger);
      tlsPort = await listen(listeners.tls, opts.tlsPort!, opts.host);
    }
  } catch (cause) {
    await shutdown(aedes, listeners, connections, store, opts.closeTimeoutMs, logger);
    throw new DynasplitError(ErrorCodes.TRANSPORT, `broker cannot listen on ${opts.host}: ${(cause as Error).message}`,
      { cause, details: { host: opts.host, port: opts.port, wsPort: opts.wsPort, tlsPort: opts.tlsPort } });
  }

  const host = connectHost(opts.host);
  logger.info({ host: opts.host, tcpPort, wsPort, tlsPort, auth: auth ? 'users file' : 'off', clientCertificates: tlsFiles?.ca !== undefined,
    sessions: store.location },
    'broker listening');
  if (!auth && !isLoopback(opts.host)) logger.warn({ host: opts.host }, 'no users file: anyone who reaches this broker may publish and subscribe to anything (development only)');
  let closing: Promise<void> | undefined;
  return {
    aedes,
    options: opts,
    tcpPort,
    wsPort,
    url: `mqtt://${host}:${tcpPort}`,
    wsUrl: wsPort === undefined ? undefined : `ws://${host}:${wsPort}/mqtt`,
    tlsPort,
    tlsUrl: tlsPort === undefined ? undefined : `mqtts://${host}:${tlsPort}`,
    stats: () => ({
      clients: aedes.connectedClients, connections: connections.size, ...counters, oversizedByRole: { ...counters.oversizedByRole },
      shared: shared.stats(),
      rateLimited: rates?.refused ?? 0,
      ...(auth ? { auth: auth.stats() } : {}),
    }),
    close: () => (closing ??= shutdown(aedes, listeners, connections, store, opts.closeTimeoutMs, logger)),
  };
}

/**
 * aedes over the store (wrapped so that shared subscriptions take part in queueing), with the hooks,
 * listening to its events, and the stored group members known. Refuses an aedes version the
 * extensions were not written for (DYNASPLIT_ERR_UNSUPPORTED_VERSION, ./aedes-internals.ts).
 */
async function startAedes(store: SessionStore, shared: SharedSubscriptions, auth: BrokerAuth | undefined, rates: PublishRates | undefined,
  opts: BrokerOptions): Promise<Aedes> {
  const ack = new AckAfterStore();
  // A refused login must leave the session of its client id alone (./persistence.ts ownsSession).
  const persistence = new BrokerPersistence(store.persistence, shared, auth ? (client) => auth.loggedIn(client) : undefined);
  const aedes = new DynasplitAedes({
    ...hooks(shared, auth, rates, ack, new DeliveryDedupe()),
    persistence,
    connectTimeout: opts.connectTimeoutMs,
    // A backstop only: ./outgoing-bound.ts keeps aedes from ever waiting for 'drain'.
    drainTimeout: opts.drainTimeoutMs,
    keepaliveLimit: opts.maxKeepaliveS ?? 0,
  });
  ack.use(aedes);
  shared.listen(aedes);
  auth?.attach(aedes);
  try {
    await aedes.listen();
    shared.restore(await store.sharedSubscriptions());
    return aedes;
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw err;
  }
}

/**
 * aedes' hooks: reserved prefixes, then the ACL (when there is a users file), then shared
 * subscriptions, which rewrite `$share/GROUP/F` to F — so the ACL sees the filter as the client sent
 * it, and a refused filter never joins a group. A PUBLISH is checked against its account's byte rate
 * (./publish-rate.ts) after the ACL. A PUBLISH that passes every check is published by
 * `ack` before aedes acknowledges it. A delivery is first checked for being a copy (`dedupe`), then
 * against the ACL, then against the group picks.
 */
function hooks(shared: SharedSubscriptions, auth: BrokerAuth | undefined, rates: PublishRates | undefined, ack: AckAfterStore,
  dedupe: DeliveryDedupe): AedesOptions {
  const publishChecks = auth && rates ? [authorizePublish, auth.authorizePublish, rates.authorizePublish, ack.authorizePublish]
    : [authorizePublish, ack.authorizePublish];
  const base = {
    preConnect: (client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void) => {
      noteTakeover(client, packet);
      dedupe.preConnect(client, packet, callback);
    },
    authorizePublish: inSeries(publishChecks),
    authorizeSubscribe: shared.authorizeSubscribe,
    authorizeForward: (client: Client, packet: AedesPublishPacket) => (dedupe.isCopy(client, packet) ? null : shared.authorizeForward(client, packet)),
  };
  if (!auth) return base;
  return {
    ...base,
    authenticate: auth.authenticate,
    authorizeSubscribe: (client, sub, callback) => auth.authorizeSubscribe(client, sub, (err, allowed) => {
      if (err || !allowed) callback(err, null);
      else shared.authorizeSubscribe(client, allowed, callback);
    }),
    authorizeForward: (client, packet) => (dedupe.isCopy(client, packet) || !auth.mayForward(client, packet) ? null : shared.authorizeForward(client, packet)),
  };
}

function remoteAddressOf(client: Client): string | undefined {
  return (client.conn as { remoteAddress?: string }).remoteAddress;
}

/** aedes' error for a connection without CONNECT after connectTimeout (lib/client.js constructor). */
const CONNECT_TIMEOUT_MESSAGE = 'connect did not arrive in time';
/** aedes' CONNACK return code (and error's errorCode) for a keepalive over its keepaliveLimit, or 0 under one. */
const KEEPALIVE_REFUSED = 6;

type PublishCheck = (client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void) => void;

/** One authorizePublish hook from several: each runs when the one before has passed. */
function inSeries(checks: PublishCheck[]): PublishCheck {
  return (client, packet, callback) => {
    const run = (index: number): void => {
      if (index === checks.length) return callback(null);
      checks[index]!(client, packet, (err) => (err ? callback(err) : run(index + 1)));
    };
    run(0);
  };
}

/**
 * aedes reserves `$SYS/`; `$share/` names a subscription, never a topic (MQTT 5 §4.8.2), and topics
 * starting with `$` are the server's (MQTT 3.1.1 §4.7.2). Refusing closes the connection, the
 * MQTT 3.1.1 answer to an unauthorized PUBLISH (§3.3.5).
 */
function authorizePublish(_client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void): void {
  const topic = packet.topic;
  if (topic.startsWith('$SYS/') || topic.startsWith('$share/')) {
    callback(new Error(`publishing to '${topic.split('/')[0]}/...' is not allowed: the prefix is reserved`));
    return;
  }
  callback(null);
}

function watchClients(aedes: Aedes, logger: Logger, counters: { published: number; takeovers: number }): void {
  aedes.on('client', (client) => {
    logger.debug({ clientId: client.id }, 'client connected');
    if (!tookOver(client)) return;
    counters.takeovers += 1;
    logger.warn({ clientId: client.id, remoteAddress: remoteAddressOf(client) },
      'a second connection took this client id over and the first was closed (MQTT 3.1.1 §3.1.4-2): two clients with one id (two nodes started with one --id) take turns like this while both run');
  });
  aedes.on('clientDisconnect', (client) => logger.debug({ clientId: client.id }, 'client disconnected'));
  aedes.on('keepaliveTimeout', (client) => logger.debug({ clientId: client.id }, 'client keepalive timed out'));
  aedes.on('publish', (_packet, client) => { if (client) counters.published += 1; });
  const onError = (client: Client, err: Error): void => {
    const code = (err as NodeJS.ErrnoException).code;
    // A peer that goes away without DISCONNECT is routine on edge links; auth.ts has logged its own
    // refusals already; anything else is worth a warning.
    const level = code === 'ECONNRESET' || code === 'EPIPE' || err instanceof AuthRefusal ? 'debug' : 'warn';
    if (err instanceof DynasplitError && err.code === ErrorCodes.OVERLOADED) {
      logger.warn({ clientId: client.id ?? undefined, err }, 'slow consumer disconnected');
    } else if (err instanceof DynasplitError && err.code === ErrorCodes.RATE_LIMITED) {
      logger.warn({ clientId: client.id ?? undefined, remoteAddress: remoteAddressOf(client), err }, 'publish rate over the limit; connection closed');
    } else if (err instanceof DynasplitError && err.code === ErrorCodes.PAYLOAD_TOO_LARGE) {
      const account = (err.details as Pick<PacketSizeViolation, 'account'> | undefined)?.account;
      logger.warn({ clientId: client.id ?? undefined, remoteAddress: remoteAddressOf(client), username: account?.username, role: account?.role, err },
        'packet over the limit; connection closed');
    } else if ((err as { errorCode?: number }).errorCode === KEEPALIVE_REFUSED) {
      logger.warn({ clientId: client.id ?? undefined, remoteAddress: remoteAddressOf(client) },
        'connection refused: its keepalive is 0 or over the broker\'s maxKeepaliveS (--max-keepalive)');
    } else if (err.message === CONNECT_TIMEOUT_MESSAGE) {
      logger.info({ remoteAddress: remoteAddressOf(client) }, 'connection closed: no CONNECT within connectTimeoutMs');
    } else {
      logger[level]({ clientId: client.id ?? undefined, err }, 'client connection error');
    }
  };
  // aedes emits 'error' for a failed store read while routing (aedes.js DoEnqueues) and a failed
  // will sweep (not in its types); unheard, an EventEmitter 'error' would end the process.
  (aedes as unknown as NodeJS.EventEmitter).on('error', (err: Error) => logger.error({ err }, 'broker error'));
  aedes.on('clientError', onError);
  aedes.on('connectionError', onError);
}

/** Where an account's packet bound was set, for the refusal's message. */
const BOUND_SOURCES = {
  account: 'its maxPacketBytes in the users file',
  role: 'broker option maxPacketBytesByRole, --role-max-packet-kb',
  broker: 'broker option maxPacketBytes',
} as const;

function oversizeError(violation: PacketSizeViolation): DynasplitError {
  const before = violation.beforeConnack ? ' before its CONNECT was accepted' : '';
  const message = violation.kind === 'malformed'
    ? 'malformed MQTT packet: Remaining Length longer than 4 bytes (MQTT 3.1.1 §2.2.3)'
    : violation.kind === 'before-connack'
      ? `a connection sent more than ${violation.limitBytes} bytes before its CONNECT was accepted (broker option maxConnectBytes)`
      : violation.account !== undefined
        ? `MQTT packet of ${violation.packetBytes} bytes exceeds the limit of ${violation.limitBytes} bytes for account '${violation.account.username}' `
          + `(role ${violation.account.role}; ${BOUND_SOURCES[violation.account.source]})`
        : `MQTT packet of ${violation.packetBytes} bytes${before} exceeds the broker's limit of ${violation.limitBytes} bytes`;
  return new DynasplitError(ErrorCodes.PAYLOAD_TOO_LARGE, message, { details: { ...violation } });
}

function slowConsumerError(violation: QueueViolation, opts: BrokerOptions): DynasplitError {
  const message = violation.kind === 'queue-full'
    ? `the client's outgoing queue of ${violation.queuedBytes} bytes exceeds the broker's limit of ${queueBytesOf(opts)} bytes (maxQueueBytes): it reads too slowly`
    : `the client took none of its ${violation.queuedBytes} queued bytes for ${opts.drainTimeoutMs} ms (drainTimeoutMs)`;
  return new DynasplitError(ErrorCodes.OVERLOADED, message,
    { details: { ...violation, maxQueueBytes: queueBytesOf(opts), drainTimeoutMs: opts.drainTimeoutMs } });
}

function listen(server: NetServer | HttpServer | TlsServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** MQTT over WebSocket (MQTT 3.1.1 §6): one binary stream per socket, any path, subprotocol 'mqtt'. */
async function listenWebSocket(listeners: Listeners, opts: BrokerOptions,
  accept: (conn: Duplex, req: IncomingMessage) => void, logger: Logger): Promise<number> {
  listeners.http = createHttpServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('MQTT over WebSocket only\n');
  });
  // mqtt.js and browsers send one WebSocket message per MQTT packet, so the same bound applies.
  listeners.wss = new WebSocketServer({ server: listeners.http, maxPayload: opts.maxPacketBytes });
  listeners.wss.on('connection', (socket, req) => accept(createWebSocketStream(socket), req));
  listeners.wss.on('error', (err) => logger.warn({ err }, 'websocket server error'));
  return listen(listeners.http, opts.wsPort!, opts.host);
}

/**
 * Stop accepting, let aedes close every client (lib/client.js close: routes removed, will sent,
 * socket destroyed), then destroy whatever is left (connections that never sent CONNECT, or all of
 * them once closeTimeoutMs has passed), wait for the listeners to report closed, and close the
 * store last, when nothing writes to it any more.
 */
async function shutdown(aedes: Aedes, listeners: Listeners, connections: Set<Duplex>, store: SessionStore,
  closeTimeoutMs: number, logger: Logger): Promise<void> {
  const deadline = Date.now() + closeTimeoutMs;
  const listenersClosed = Promise.all([
    closeServer(listeners.tcp),
    listeners.http ? closeServer(listeners.http) : undefined,
    listeners.wss ? new Promise<void>((resolve) => listeners.wss!.close(() => resolve())) : undefined,
    listeners.tls ? closeServer(listeners.tls) : undefined,
  ]);
  const aedesClosed = await within(new Promise<void>((resolve) => aedes.close(() => resolve())), deadline);
  if (!aedesClosed) logger.warn({ closeTimeoutMs }, 'clients did not close in time; cutting them off');
  for (const conn of connections) conn.destroy();
  listeners.http?.closeAllConnections();
  if (!(await within(listenersClosed, deadline + 1000))) logger.warn('listeners did not close in time');
  try {
    await store.close();
  } catch (err) {
    logger.warn({ err, sessions: store.location }, 'closing the session store failed');
  }
  logger.info('broker closed');
}

function closeServer(server: NetServer | HttpServer | TlsServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

/** Whether `promise` settled before `deadline` (ms since the epoch). */
async function within(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(resolve, Math.max(0, deadline - Date.now()), false); });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1' || host === '[::1]';
}

/** A host clients can connect to: a wildcard address becomes loopback; IPv6 literals get brackets. */
function connectHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
