/**
 * TensorTransport over NATS request/reply (docs/protocol.md). Edge: `request()` on
 * `subjects.tail(model)`; cloud: a queue-group subscription per served model, so the server hands
 * each request to one worker of the group. Bodies over the server's max_payload travel in chunks
 * (nats-chunks.ts), in both directions.
 */
import {
  AuthorizationError,
  ClosedConnectionError,
  connect,
  DrainingConnectionError,
  Empty,
  nkeyAuthenticator,
  nkeys,
  NoRespondersError,
  PermissionViolationError,
  RequestError,
  TimeoutError,
  type Msg,
  type NatsConnection,
  type NodeConnectionOptions,
  type Subscription,
} from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { DynasplitError, ErrorCodes, silentLogger } from '../common/index.ts';
import { checkId, CLOUD_GROUP, encodeMessage, subjects, TailReply, TailRequest, type TailReplyProperties, type TailRequestProperties } from '../schemas/index.ts';
import {
  checkTimeout, closedError, decodeReply, decodeRequest, errorReply, InFlight, peekRequestId, PendingRequests, runHandler, timeoutError,
} from './handling.ts';
import { closeUnconnectedSockets } from './nats-internals.ts';
import { fetchChunks, fitsInline, HEADERS, offerChunks, parseChunkRef, type ChunkOffer, type ChunkRef } from './nats-chunks.ts';
import { ReplyInbox } from './nats-replies.ts';
import type { RequestOptions, Serving, ServeOptions, TailHandler, TensorTransport } from './tensor-transport.ts';

/** The credentials and TLS files a component passes through from its options. */
export type NatsAuth = Pick<NatsTransportOptions, 'nkeySeed' | 'tls'>;

export interface NatsTransportOptions {
  /** Server URL(s), e.g. "nats://127.0.0.1:4222"; ignored when `connection` is given. */
  servers: string | string[];
  /** Connection name shown by the server's monitoring. */
  name?: string;
  /** An open connection to reuse; `close()` then leaves it open. */
  connection?: NatsConnection;
  logger?: Logger;
  /**
   * Credentials, at most one kind (docs/security.md): `user` with `pass`; a `token`; or an
   * `nkeySeed` (the account's private seed, "SU..."), which signs the server's nonce and never
   * travels. Without these, credentials in the URLs count: `nats://user:pass@host:4222`, or
   * `nats://token@host:4222` (nats.js itself ignores them).
   */
  user?: string;
  pass?: string;
  token?: string;
  nkeySeed?: string;
  /**
   * TLS, when the server requires it (`tls://` URLs, or a server with a `tls` block): PEM file paths.
   * `caFile` trusts a private CA; `certFile` and `keyFile` present a client certificate.
   */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** ms to connect and get the server's first PONG, per server and dial; default DEFAULT_NATS_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
}

/**
 * ms a worker keeps a chunked reply on offer for the edge to fetch, and its time to fetch a chunked
 * request: the edge's own timeout is not sent over the wire, so the worker bounds its side itself.
 */
const WORKER_TRANSFER_MS = 30_000;
/** ms close() waits for edges still fetching chunked replies before it withdraws them. */
const CLOSE_GRACE_MS = 5_000;

/**
 * ms a dial may take, TCP and TLS handshakes and the server's first PONG included: nats.js's 20 s
 * held an edge's start (and its exit on SIGTERM) that long when a firewall drops the packets or a port
 * accepts and never speaks NATS; 5 s leaves several round trips of a slow satellite link.
 */
export const DEFAULT_NATS_CONNECT_TIMEOUT_MS = 5_000;

/** Connects (unless given a connection) and returns the transport. Rejects with TRANSPORT. */
export async function createNatsTransport(options: NatsTransportOptions): Promise<TensorTransport> {
  const logger = (options.logger ?? silentLogger()).child({ component: 'nats-transport' });
  if (options.connection) return new NatsTransport(options.connection, false, logger);
  const { servers, credentials } = splitCredentials(options.servers);
  // A connect that times out must not leave its socket open (./nats-internals.ts).
  closeUnconnectedSockets();
  try {
    const explicit = [options.user, options.pass, options.token, options.nkeySeed].some((v) => v !== undefined);
    const nc = await connect({
      servers,
      name: options.name,
      // Keep trying for as long as the node runs. nats.js's default (10 tries per server, 2 s apart)
      // closes the connection for good after ~20 s without a server: a worker then serves nothing and
      // an edge falls back on every request, although the servers are back.
      maxReconnectAttempts: -1,
      // nats.js builds two Errors per request() only to give a timeout the caller's stack; each
      // request also builds a third it always throws away. At 1 KB that was ~25% of the edge's CPU
      // per request (225 -> 163 µs one at a time, 83 -> 61 µs with 16 in flight: bench/messaging.ts,
      // docs/performance.md); our errors name the subject and timeout instead. Tail requests have
      // since left request() (./nats-replies.ts); chunk fetches still use it.
      noAsyncTraces: true,
      timeout: options.connectTimeoutMs ?? DEFAULT_NATS_CONNECT_TIMEOUT_MS,
      ...connectionSecurity(explicit ? options : { ...options, ...credentials }),
    });
    return new NatsTransport(nc, true, logger);
  } catch (err) {
    if (err instanceof DynasplitError) throw err;
    throw new DynasplitError(ErrorCodes.TRANSPORT, `cannot connect to NATS at ${servers.join(',')}: ${errMessage(err)}`, {
      cause: err,
      // Refused credentials stay refused until someone changes them.
      retryable: !(err instanceof AuthorizationError),
      details: { servers },
    });
  }
}

/** The credential and TLS part of the connect options; BAD_ARGS for more than one kind of credential or a bad seed. */
function connectionSecurity(options: NatsTransportOptions): Partial<NodeConnectionOptions> {
  const kinds = [options.user !== undefined || options.pass !== undefined, options.token !== undefined, options.nkeySeed !== undefined];
  if (kinds.filter(Boolean).length > 1) throw badSecurity('give one of user/pass, token or nkeySeed, not several');
  const security: Partial<NodeConnectionOptions> = {};
  if (options.user !== undefined || options.pass !== undefined) {
    if (!options.user || options.pass === undefined) throw badSecurity('user and pass go together');
    security.user = options.user;
    security.pass = options.pass;
  }
  if (options.token !== undefined) security.token = options.token;
  if (options.nkeySeed !== undefined) {
    const seed = new TextEncoder().encode(options.nkeySeed.trim());
    try {
      nkeys.fromSeed(seed); // fails now, with our code, instead of at the server's nonce
    } catch {
      throw badSecurity('nkeySeed is not an nkey seed (expected "S..." from nk -gen user, or nsc)');
    }
    security.authenticator = nkeyAuthenticator(seed);
  }
  if (options.tls) security.tls = { ...options.tls };
  return security;
}

function badSecurity(message: string): DynasplitError {
  return new DynasplitError(ErrorCodes.BAD_ARGS, `NATS transport: ${message}`);
}

/** Server URLs without their user info (kept out of messages and logs), and the credentials it held. */
function splitCredentials(urls: string | string[]): { servers: string[]; credentials: Pick<NatsTransportOptions, 'user' | 'pass' | 'token'> } {
  const found = new Set<string>();
  const servers = (Array.isArray(urls) ? urls : [urls]).map((url) => {
    const match = /^([a-z]+:\/\/)([^/@]*)@(.*)$/i.exec(url);
    if (!match) return url;
    found.add(match[2]!);
    return `${match[1]}${match[3]}`;
  });
  if (found.size > 1) throw badSecurity('the server URLs carry different credentials');
  const [info] = found;
  if (info === undefined) return { servers, credentials: {} };
  const colon = info.indexOf(':');
  if (colon < 0) return { servers, credentials: { token: decodeURIComponent(info) } };
  return { servers, credentials: { user: decodeURIComponent(info.slice(0, colon)), pass: decodeURIComponent(info.slice(colon + 1)) } };
}

class NatsTransport implements TensorTransport {
  readonly kind = 'nats' as const;
  readonly #nc: NatsConnection;
  readonly #ownsConnection: boolean;
  readonly #logger: Logger;
  readonly #pending = new PendingRequests();
  /** Where replies to this transport's tail requests arrive (./nats-replies.ts). */
  readonly #replies: ReplyInbox;
  /** Requests sent on the connection as it is now; failed at once if it drops (#watchConnection). */
  #onConnection = new PendingRequests();
  /** False from a 'disconnect' until the next 'reconnect'. */
  #connected = true;
  readonly #servings = new Set<Serving>();
  /** Chunked replies edges may still be fetching. */
  readonly #replyOffers = new Set<ChunkOffer>();
  #closing: Promise<void> | undefined;

  constructor(nc: NatsConnection, ownsConnection: boolean, logger: Logger) {
    this.#nc = nc;
    this.#ownsConnection = ownsConnection;
    this.#logger = logger;
    this.#replies = new ReplyInbox(nc);
    this.#watchConnection().catch((err: unknown) => logger.error({ err }, 'NATS status watch failed'));
  }

  /**
   * Logs the connection going and coming back (nats.js reconnects to the next server of the list or
   * cluster). While it is gone, requests fail at once with TRANSPORT instead of at their timeout, so
   * the edge completes them itself with budget to spare: those in flight may never have reached a
   * worker, and their replies, like anything sent before this client is back, are dropped (NATS is
   * at most once; nats.js 3 also discards what is published while it waits to reconnect).
   */
  async #watchConnection(): Promise<void> {
    // Ends when the connection closes; a reused one outlives the transport: stop at its next event.
    for await (const status of this.#nc.status()) {
      if (this.#closing) break;
      if (status.type === 'disconnect') {
        this.#connected = false;
        const lost = this.#onConnection;
        this.#onConnection = new PendingRequests();
        this.#logger.warn({ server: status.server, requestsLost: lost.size }, 'NATS connection lost; reconnecting');
        const err = disconnectedError(`the connection to NATS server ${status.server} was lost with the request in flight`);
        lost.rejectAll(err);
        this.#replies.rejectAll(err);
      } else if (status.type === 'reconnect') {
        this.#connected = true;
        this.#logger.info({ server: status.server }, 'NATS connection restored');
      } else if (status.type === 'error' && status.error instanceof PermissionViolationError && status.error.operation === 'publish') {
        this.#replies.refused(status.error);
      }
    }
  }

  request(request: TailRequestProperties, options: RequestOptions): Promise<TailReply> {
    if (this.#closing) return Promise.reject(closedError());
    try {
      checkTimeout(options.timeoutMs);
      if (!this.#connected) throw disconnectedError('no connection to a NATS server (reconnecting)');
      const subject = subjects.tail(request.model ?? '');
      return this.#pending.run(this.#onConnection.run(this.#send(subject, request, options.timeoutMs)));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async #send(subject: string, request: TailRequestProperties, timeoutMs: number): Promise<TailReply> {
    const deadline = Date.now() + timeoutMs;
    let offer: ChunkOffer | undefined;
    try {
      const body = encodeMessage(TailRequest, request);
      if (!fitsInline(this.#nc, body)) offer = offerChunks(this.#nc, body, timeoutMs, this.#logger);
      // A chunked request names itself in a header, since its body may never arrive; an inline one by
      // its request_id, which a worker reads even from a body it cannot decode (peekRequestId).
      offer?.headers.set(HEADERS.requestId, request.request_id ?? '');
      const msg = await this.#replies.request(subject, offer ? Empty : body, offer?.headers, timeoutMs);
      const ref = parseChunkRef(msg.headers);
      const replyBody = ref ? await this.#fetchReply(ref, deadline - Date.now()) : msg.data;
      return decodeReply(replyBody);
    } catch (err) {
      throw this.#mapError(err, subject, timeoutMs);
    } finally {
      offer?.done();
    }
  }

  /** A chunked reply; a worker that withdrew it is a TRANSPORT failure, not "no workers". */
  async #fetchReply(ref: ChunkRef, timeoutMs: number): Promise<Uint8Array> {
    try {
      return await fetchChunks(this.#nc, ref, timeoutMs);
    } catch (err) {
      if (err instanceof DynasplitError || err instanceof TimeoutError) throw err;
      throw new DynasplitError(ErrorCodes.TRANSPORT, `cannot fetch the chunks of the reply: ${errMessage(err)}`, { cause: err, retryable: true });
    }
  }

  /** NATS client errors to the contract's codes. */
  #mapError(err: unknown, subject: string, timeoutMs: number): DynasplitError {
    if (err instanceof DynasplitError) return err;
    if (err instanceof TimeoutError) return timeoutError(`'${subject}'`, timeoutMs, err);
    if (err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders())) {
      return new DynasplitError(ErrorCodes.NO_WORKERS, `no cloud worker serves '${subject}'`, { cause: err, retryable: true, details: { subject } });
    }
    if (this.#closing && (err instanceof ClosedConnectionError || err instanceof DrainingConnectionError)) return closedError();
    return new DynasplitError(ErrorCodes.TRANSPORT, `NATS request on '${subject}' failed: ${errMessage(err)}`, {
      cause: err,
      retryable: true,
      details: { subject },
    });
  }

  async serve(handler: TailHandler, options: ServeOptions = {}): Promise<Serving> {
    if (this.#closing) throw closedError();
    const queue = checkId('group', options.group ?? CLOUD_GROUP);
    const names = options.models?.map((m) => subjects.tail(m)) ?? [subjects.tailAll()];
    const inFlight = new InFlight();
    const subs: Subscription[] = [];
    try {
      for (const subject of names) {
        subs.push(this.#nc.subscribe(subject, {
          queue,
          callback: (err, msg) => {
            if (err) this.#logger.error({ err, subject }, 'tail subscription failed');
            else inFlight.track(this.#answer(handler, msg, options.workerId ?? ''));
          },
        }));
      }
      await this.#nc.flush(); // the server knows the subscriptions before serve() resolves
    } catch (err) {
      for (const sub of subs) if (!sub.isClosed()) sub.unsubscribe();
      throw new DynasplitError(ErrorCodes.TRANSPORT, `cannot subscribe to ${names.join(', ')}: ${errMessage(err)}`, { cause: err, retryable: true });
    }
    let closing: Promise<void> | undefined;
    const serving: Serving = {
      close: () => (closing ??= (async () => {
        await Promise.allSettled(subs.map((s) => s.drain()));
        await inFlight.settled();
        this.#servings.delete(serving);
      })()),
    };
    this.#servings.add(serving);
    this.#logger.debug({ subjects: names, queue }, 'serving tail requests');
    return serving;
  }

  /** Handles one request message end to end. Never rejects: every failure is logged or answered. */
  async #answer(handler: TailHandler, msg: Msg, workerId: string): Promise<void> {
    const receivedAtMs = Date.now();
    let reply: TailReplyProperties;
    try {
      const ref = parseChunkRef(msg.headers);
      const request = decodeRequest(ref ? await fetchChunks(this.#nc, ref, WORKER_TRANSFER_MS) : msg.data);
      reply = await runHandler(handler, request, receivedAtMs, this.#logger, workerId);
    } catch (err) {
      // runHandler never throws: this is a request that could not be read (headers, chunks, protobuf).
      const coded = err instanceof DynasplitError ? err : new DynasplitError(ErrorCodes.TRANSPORT,
        `cannot fetch the chunks of the request: ${errMessage(err)}`, { cause: err, retryable: true });
      const requestId = msg.headers?.get(HEADERS.requestId) || peekRequestId(msg.data);
      this.#logger.warn({ err: coded, subject: msg.subject, requestId, bytes: msg.data.length }, 'bad tail request');
      reply = errorReply(requestId, coded, receivedAtMs, workerId);
    }
    this.#reply(msg, reply);
  }

  #reply(msg: Msg, reply: TailReplyProperties): void {
    if (!msg.reply) {
      this.#logger.warn({ subject: msg.subject, requestId: reply.request_id }, 'tail request without a reply subject; answer dropped');
      return;
    }
    try {
      const body = encodeMessage(TailReply, reply);
      if (fitsInline(this.#nc, body)) {
        msg.respond(body);
        return;
      }
      const offer = offerChunks(this.#nc, body, WORKER_TRANSFER_MS, this.#logger);
      this.#replyOffers.add(offer);
      void offer.finished.then(() => this.#replyOffers.delete(offer));
      msg.respond(Empty, { headers: offer.headers });
    } catch (err) {
      this.#logger.error({ err, requestId: reply.request_id }, 'cannot send tail reply');
    }
  }

  /** Gives edges up to CLOSE_GRACE_MS to finish fetching chunked replies, then ends the offers. */
  async #withdrawReplyOffers(): Promise<void> {
    if (this.#replyOffers.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)));
    await Promise.race([Promise.all([...this.#replyOffers].map((o) => o.finished)), grace]);
    clearTimeout(timer);
    for (const offer of this.#replyOffers) offer.done();
  }

  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    this.#pending.rejectAll();
    this.#replies.close(closedError());
    await Promise.allSettled([...this.#servings].map((s) => s.close()));
    await this.#withdrawReplyOffers();
    if (this.#ownsConnection && !this.#nc.isClosed()) {
      // Flushes the replies just sent before the socket goes.
      await this.#nc.drain().catch((err: unknown) => this.#logger.warn({ err }, 'NATS drain failed'));
      // A drain that failed (no server reachable) leaves the connection reconnecting, for ever: end it.
      if (!this.#nc.isClosed()) await this.#nc.close();
    }
  }
}

function disconnectedError(message: string): DynasplitError {
  return new DynasplitError(ErrorCodes.TRANSPORT, message, { retryable: true });
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
