/**
 * TensorTransport over MQTT 3.1.1 (protocolVersion 4, so aedes and Mosquitto both serve it;
 * docs/protocol.md). MQTT has no request/reply of its own (that is MQTT 5's response topic, §4.10),
 * so the TailRequest carries it: `reply_to` = this edge's `topics.tailReplies(edgeId)` and a unique
 * `correlation_id`, which the worker echoes in the TailReply it publishes there. The edge subscribes
 * to its reply topic once and dispatches replies by correlation id.
 *
 * - Load sharing: workers subscribe through a shared subscription (`$share/<group>/...`), which
 *   Mosquitto and our aedes broker support; the broker hands each request to one member.
 * - No responders: MQTT cannot tell that nobody is subscribed. The edge side reads the workers'
 *   retained announcements (mqtt-workers.ts) and rejects with DYNASPLIT_ERR_NO_WORKERS at once when
 *   no worker is UP for the model; where announcements are not heard (the broker withholds them, a
 *   deployment without announcing workers), such a request runs into its timeout (DYNASPLIT_ERR_TIMEOUT).
 * - Size: no chunking. A PUBLISH carries up to 256 MB (remaining length, §2.2.3), but the broker's
 *   own limit applies (Mosquitto `max_packet_size`, unlimited by default; aedes 1.x sets none): a
 *   broker that refuses a packet drops it or closes the connection, which the edge sees as a
 *   timeout or a TRANSPORT error.
 * - One serve() per transport: an MQTT 3.1.1 PUBLISH does not say which subscription it matched, so
 *   two servings on one connection could not tell their messages apart.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { connectMqtt, endMqtt, subscribeAcrossReconnects, DynasplitError, ErrorCodes, silentLogger, type MqttTls } from '../common/index.ts';
import {
  checkId, CLOUD_GROUP, encodeMessage, MQTT_PREFIX, TailReply, TailRequest, topics, type TailReplyProperties, type TailRequestProperties,
} from '../schemas/index.ts';
import {
  checkTailRequest, checkTimeout, closedError, decodeReply, decodeTailRequest, errorReply, InFlight, peekRequestId, PendingRequests,
  runHandler, timeoutError,
} from './handling.ts';
import { WorkerDirectory } from './mqtt-workers.ts';
import type { RequestOptions, Serving, ServeOptions, TailHandler, TensorTransport } from './tensor-transport.ts';

export interface MqttTransportOptions {
  /** Broker URL; default "mqtt://127.0.0.1:1883". Ignored when `client` is given. */
  url?: string;
  /** A connected client to reuse; `close()` then leaves it connected. */
  client?: MqttClient;
  /** Default: "dynasplit-" and 12 random hex digits (22 characters: MQTT 3.1.1 §3.1.3.1 asks servers to accept 23). */
  clientId?: string;
  /**
   * Names this edge's reply topic (`topics.tailReplies(edgeId)`); default: a random id. Given, the
   * transport is an edge's and reads the workers' announcements from the start (else from its first
   * request), so its first requests already know when no worker serves their model.
   */
  edgeId?: string;
  logger?: Logger;
  /** QoS of requests, replies and subscriptions; default 1 (at least once, §4.3.2). */
  qos?: 0 | 1;
  /** TLS material for mqtts:// URLs (common/mqtt.ts loadMqttTls). */
  tls?: MqttTls;
}

export const DEFAULT_MQTT_URL = 'mqtt://127.0.0.1:1883';
/** ms to wait for the CONNACK. */
const CONNECT_TIMEOUT_MS = 10_000;
const TAIL_PREFIX = `${MQTT_PREFIX}/tail/`;

/** Connects (unless given a client) and returns the transport. Rejects with TRANSPORT or BAD_ARGS. */
export async function createMqttTransport(options: MqttTransportOptions = {}): Promise<TensorTransport> {
  const logger = (options.logger ?? silentLogger()).child({ component: 'mqtt-transport' });
  const qos = options.qos ?? 1;
  if (qos !== 0 && qos !== 1) throw new DynasplitError(ErrorCodes.BAD_ARGS, `qos must be 0 or 1, got ${String(qos)}`);
  const edgeId = checkId('edge', options.edgeId ?? `edge-${randomUUID()}`);
  const watchWorkers = options.edgeId !== undefined;
  if (options.client) return new MqttTransport(options.client, false, { logger, qos, edgeId, watchWorkers });
  const url = options.url ?? DEFAULT_MQTT_URL;
  const clientId = options.clientId ?? `dynasplit-${randomBytes(6).toString('hex')}`;
  const client = await connectMqtt(url, { clientId, connectTimeoutMs: CONNECT_TIMEOUT_MS, ...options.tls, logger });
  return new MqttTransport(client, true, { logger, qos, edgeId, watchWorkers });
}

interface Waiter {
  resolve(reply: TailReply): void;
  timer: NodeJS.Timeout;
}

interface ActiveServing {
  handler: TailHandler;
  /** ServeOptions.workerId: set on the replies of this serving. */
  workerId: string;
  inFlight: InFlight;
  close(): Promise<void>;
}

class MqttTransport implements TensorTransport {
  readonly kind = 'mqtt' as const;
  readonly #client: MqttClient;
  readonly #ownsClient: boolean;
  readonly #logger: Logger;
  readonly #qos: 0 | 1;
  readonly #replyTopic: string;
  readonly #waiters = new Map<string, Waiter>();
  readonly #pending = new PendingRequests();
  #replySubscription: Promise<void> | undefined;
  readonly #workers = new WorkerDirectory();
  #watchingWorkers = false;
  #serving: ActiveServing | undefined;
  #closing: Promise<void> | undefined;
  readonly #onMessage = (topic: string, payload: Buffer): void => this.#route(topic, payload);

  constructor(client: MqttClient, ownsClient: boolean, options: { logger: Logger; qos: 0 | 1; edgeId: string; watchWorkers: boolean }) {
    this.#client = client;
    this.#ownsClient = ownsClient;
    this.#logger = options.logger;
    this.#qos = options.qos;
    this.#replyTopic = topics.tailReplies(options.edgeId);
    client.on('message', this.#onMessage);
    if (options.watchWorkers) this.#watchWorkers();
  }

  request(request: TailRequestProperties, options: RequestOptions): Promise<TailReply> {
    if (this.#closing) return Promise.reject(closedError());
    try {
      checkTimeout(options.timeoutMs);
      const topic = topics.tailRequests(request.model ?? '');
      // Fail fast while disconnected: the edge can run the tail itself instead of waiting.
      if (!this.#client.connected) throw new DynasplitError(ErrorCodes.TRANSPORT, 'MQTT client is not connected', { retryable: true });
      this.#watchWorkers();
      if (!this.#workers.mayServe(request.model ?? '')) {
        const up = this.#workers.describe();
        throw new DynasplitError(ErrorCodes.NO_WORKERS, `no cloud worker serves '${request.model ?? ''}' (workers up: ${up || 'none'})`, {
          retryable: true, details: { topic },
        });
      }
      return this.#pending.run(this.#send(topic, request, options.timeoutMs));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #send(topic: string, request: TailRequestProperties, timeoutMs: number): Promise<TailReply> {
    const correlationId = randomUUID();
    // The fields first and set after the spread: fields added after an object spread take V8's slow path.
    const message: TailRequestProperties = { reply_to: '', correlation_id: '', ...request };
    message.reply_to = this.#replyTopic;
    message.correlation_id = correlationId;
    const body = encodeMessage(TailRequest, message);
    return new Promise<TailReply>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(correlationId);
      };
      const timer = setTimeout(() => {
        settle();
        reject(timeoutError(`'${topic}' (correlation ${correlationId})`, timeoutMs));
      }, timeoutMs);
      this.#waiters.set(correlationId, { resolve: (reply) => (settle(), resolve(reply)), timer });
      this.#subscribeReplies()
        .then(() => this.#client.publishAsync(topic, toBuffer(body), { qos: this.#qos }))
        .catch((err: unknown) => {
          settle();
          reject(new DynasplitError(ErrorCodes.TRANSPORT, `cannot publish tail request on '${topic}': ${String(err)}`, { cause: err, retryable: true }));
        });
    });
  }

  /** Subscribes to this edge's reply topic once, before the first request goes out. */
  #subscribeReplies(): Promise<void> {
    this.#replySubscription ??= this.#subscribe([this.#replyTopic]).catch((err: unknown) => {
      this.#replySubscription = undefined; // the next request tries again
      throw err;
    });
    return this.#replySubscription;
  }

  /** Subscribes once to the nodes' announcements (retained, so the broker sends what stands now). */
  #watchWorkers(): void {
    if (this.#watchingWorkers) return;
    this.#watchingWorkers = true;
    this.#subscribe([topics.announcementsAll()], true).catch((err: unknown) => {
      // Without them every request goes out and an absent worker shows as a timeout, as before.
      this.#logger.info({ err: (err as Error).message }, 'worker announcements not readable: a request no worker serves waits for its timeout');
    });
  }

  /**
   * `acrossReconnects`: serving subscribes again when the broker drops the connection before its
   * SUBACK; the reply topic does not wait for that (a request falls back now, and the next one
   * subscribes again).
   */
  async #subscribe(filters: string[], acrossReconnects = false): Promise<void> {
    const options = { qos: this.#qos };
    const grants = await (acrossReconnects ? subscribeAcrossReconnects(this.#client, filters, options) : this.#client.subscribeAsync(filters, options));
    const refused = grants.filter((g) => g.qos === 128); // SUBACK failure return code, §3.9.3
    if (refused.length > 0) {
      throw new DynasplitError(ErrorCodes.TRANSPORT, `broker refused subscription to ${refused.map((g) => g.topic).join(', ')}`, {
        details: { filters },
      });
    }
  }

  #route(topic: string, payload: Buffer): void {
    if (topic === this.#replyTopic) this.#onReply(payload);
    else if (this.#workers.take(topic, payload)) return;
    else if (topic.startsWith(TAIL_PREFIX) && this.#serving) this.#serving.inFlight.track(this.#answer(this.#serving, payload, topic));
  }

  #onReply(payload: Buffer): void {
    let reply: TailReply;
    try {
      reply = decodeReply(payload);
    } catch (err) {
      this.#logger.warn({ err, topic: this.#replyTopic }, 'bad tail reply');
      return;
    }
    const waiter = this.#waiters.get(reply.correlation_id);
    // Late (after a timeout) or a duplicate (QoS 1 is at least once): nobody waits for it any more.
    if (waiter) waiter.resolve(reply);
    else this.#logger.debug({ correlationId: reply.correlation_id, requestId: reply.request_id }, 'tail reply nobody waits for');
  }

  async serve(handler: TailHandler, options: ServeOptions = {}): Promise<Serving> {
    if (this.#closing) throw closedError();
    if (this.#serving) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'this MQTT transport already serves; close that serving first or use another connection');
    if (!this.#client.connected) throw new DynasplitError(ErrorCodes.TRANSPORT, 'MQTT client is not connected', { retryable: true });
    const group = checkId('group', options.group ?? CLOUD_GROUP);
    const filters = options.models?.map((m) => `$share/${group}/${topics.tailRequests(m)}`) ?? [topics.tailRequestsShared(group)];
    let closing: Promise<void> | undefined;
    const serving: ActiveServing = {
      handler,
      workerId: options.workerId ?? '',
      inFlight: new InFlight(),
      close: () => (closing ??= this.#stopServing(serving, filters)),
    };
    this.#serving = serving; // before SUBSCRIBE: a request may arrive right after the SUBACK
    try {
      await this.#subscribe(filters, true);
    } catch (err) {
      this.#serving = undefined;
      throw err instanceof DynasplitError ? err : new DynasplitError(ErrorCodes.TRANSPORT, `cannot subscribe to ${filters.join(', ')}`, { cause: err, retryable: true });
    }
    this.#logger.debug({ filters }, 'serving tail requests');
    return { close: serving.close };
  }

  async #stopServing(serving: ActiveServing, filters: string[]): Promise<void> {
    // Messages that arrive before the UNSUBACK are still handled: with QoS 1 the broker has already
    // given them to this worker alone.
    if (this.#client.connected) await this.#client.unsubscribeAsync(filters).catch((err: unknown) => this.#logger.warn({ err }, 'unsubscribe failed'));
    if (this.#serving === serving) this.#serving = undefined;
    await serving.inFlight.settled();
  }

  /** Handles one request message. Never rejects: every failure is logged or answered. */
  async #answer(serving: ActiveServing, payload: Buffer, topic: string): Promise<void> {
    const receivedAtMs = Date.now();
    let request: TailRequest;
    try {
      request = decodeTailRequest(payload);
    } catch (err) {
      // Without the decoded request there is no reply_to: log and drop.
      this.#logger.warn({ err, topic, requestId: peekRequestId(payload), bytes: payload.length }, 'bad tail request');
      return;
    }
    if (!isReplyTopic(request.reply_to)) {
      this.#logger.warn({ topic, requestId: request.request_id, replyTo: request.reply_to }, 'tail request without a valid reply_to; dropped');
      return;
    }
    let reply: TailReplyProperties;
    try {
      reply = await runHandler(serving.handler, checkTailRequest(request), receivedAtMs, this.#logger, serving.workerId);
    } catch (err) {
      this.#logger.warn({ err, topic, requestId: request.request_id }, 'bad tail request');
      reply = errorReply(request.request_id, err, receivedAtMs, serving.workerId);
    }
    const message: TailReplyProperties = { correlation_id: '', ...reply }; // as in #send
    message.correlation_id = request.correlation_id;
    const body = encodeMessage(TailReply, message);
    await this.#client.publishAsync(request.reply_to, toBuffer(body), { qos: this.#qos })
      .catch((err: unknown) => this.#logger.error({ err, requestId: request.request_id }, 'cannot publish tail reply'));
  }

  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    this.#pending.rejectAll();
    for (const waiter of this.#waiters.values()) clearTimeout(waiter.timer);
    this.#waiters.clear();
    await this.#serving?.close();
    this.#client.off('message', this.#onMessage);
    if (this.#ownsClient) {
      await endMqtt(this.#client).catch((err: unknown) => this.#logger.warn({ err }, 'MQTT disconnect failed'));
    } else if (this.#client.connected) {
      const filters = [...(this.#replySubscription ? [this.#replyTopic] : []), ...(this.#watchingWorkers ? [topics.announcementsAll()] : [])];
      if (filters.length > 0) await this.#client.unsubscribeAsync(filters).catch((err: unknown) => this.#logger.warn({ err }, 'unsubscribe failed'));
    }
  }
}

/**
 * A worker publishes only to a tail-replies topic: the request names where the reply goes, and a
 * worker must not become a way to publish anywhere (retained policies, other components' topics).
 */
function isReplyTopic(topic: string): boolean {
  const prefix = `${MQTT_PREFIX}/tail-replies/`;
  if (!topic.startsWith(prefix)) return false;
  try {
    return topics.tailReplies(topic.slice(prefix.length)) === topic;
  } catch {
    return false;
  }
}

/** mqtt.js wants a Buffer; protobufjs gives a Uint8Array (a Buffer on Node, but typed as the former). */
function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
