/**
 * Talking to the pipeline from outside, as a sensor does: publish a Frame (QoS 1) on the sensor's
 * frame topic and match the Result that comes back on its result topic by request id. Request ids are
 * `<sensorId>-<run>-<n>`, unique per client, so results of an earlier run on the same sensor id (a
 * retained session, a redelivery) are told apart and ignored.
 */
import { connectMqtt, endMqtt, subscribeAcrossReconnects, DynasplitError, ErrorCodes, silentLogger, wallClockMs, type Logger, type MqttClient, type MqttTls } from '../common/index.ts';
import { encodeMessage, Frame, Result, topics, type FrameProperties } from '../schemas/index.ts';
import { waitForEdge, type ServingEdge } from './edge-wait.ts';

export interface FrameClientOptions {
  mqttUrl: string;
  /** Topics are the sensor's (topics.frames / topics.results). */
  sensorId: string;
  /** ms to wait for a Result unless a request says otherwise; Infinity: until close(). */
  timeoutMs: number;
  mqttTls?: MqttTls;
  /** default `<sensorId>-<pid>-<n>`; with persistentSession `<sensorId>-session` (a session is found again by its client id) */
  clientId?: string;
  /**
   * A persistent session (MQTT 3.1.1 clean=false): the broker keeps the result subscription and the
   * QoS 1 results published while this client is away (a broker restarted with persistence, a dropped
   * connection), and delivers them when it is back. Results of an earlier run queued for the session
   * are told apart by their request ids and counted as unmatched. Default false.
   */
  persistentSession?: boolean;
  logger?: Logger;
}

/** A Result and the ms from just before its frame was published to its arrival (monotonic clock). */
export interface Answer { result: Result; roundTripMs: number }

export interface Sent {
  requestId: string;
  /** Resolves with the Result; rejects with DYNASPLIT_ERR_TIMEOUT, or DYNASPLIT_ERR_CLOSED when the client closes first. */
  answer: Promise<Answer>;
}

export interface FrameClientStats {
  sent: number;
  answered: number;
  timedOut: number;
  /** Results of this client's requests that no request waits for: duplicates, or late after a timeout. */
  unmatched: number;
  undecodable: number;
}

export interface FrameClient {
  readonly sensorId: string;
  /**
   * Publishes `frame` (its request_id, sensor_id and capture_at_ms are set here) and resolves once the
   * broker has it; the Result arrives on `answer`.
   */
  send(frame: FrameProperties, options?: { timeoutMs?: number }): Promise<Sent>;
  /** send() and wait for the Result. */
  request(frame: FrameProperties, options?: { timeoutMs?: number }): Promise<Answer>;
  /**
   * Waits for an edge node that serves `model` (client/edge-wait.ts): a frame sent before any edge
   * has subscribed is lost at the broker. Rejects with DYNASPLIT_ERR_NO_EDGES after `timeoutMs`.
   */
  waitForEdge(model: string, options: { timeoutMs: number }): Promise<ServingEdge>;
  stats(): FrameClientStats;
  /** Rejects what still waits with DYNASPLIT_ERR_CLOSED and disconnects; idempotent. */
  close(): Promise<void>;
}

interface Pending { resolve(answer: Answer): void; reject(err: Error): void; sentAt: number; timer?: NodeJS.Timeout }

let clients = 0;

export async function connectFrameClient(options: FrameClientOptions): Promise<FrameClient> {
  const logger = options.logger ?? silentLogger();
  const clientId = options.clientId ?? (options.persistentSession ? `${options.sensorId}-session` : `${options.sensorId}-${process.pid}-${clients++}`);
  const mqtt = await connectMqtt(options.mqttUrl, { clientId, clean: !options.persistentSession, ...options.mqttTls, logger });
  const runId = `${options.sensorId}-${Date.now().toString(36)}`;
  const pending = new Map<string, Pending>();
  const stats: FrameClientStats = { sent: 0, answered: 0, timedOut: 0, unmatched: 0, undecodable: 0 };
  const resultsTopic = topics.results(options.sensorId);
  mqtt.on('message', (topic, payload) => {
    if (topic === resultsTopic) onResult(payload, { pending, stats, runId, logger });
  });
  try {
    await subscribeAcrossReconnects(mqtt, resultsTopic, { qos: 1 });
  } catch (err) {
    await mqtt.endAsync();
    throw err;
  }
  let sequence = 0;
  let closing: Promise<void> | undefined;
  const send = async (frame: FrameProperties, sendOptions: { timeoutMs?: number } = {}): Promise<Sent> => {
    if (closing) throw new DynasplitError(ErrorCodes.CLOSED, `frame client ${options.sensorId} is closed`);
    const requestId = `${runId}-${sequence++}`;
    // The fields first and set after the spread: fields added after an object spread take V8's slow
    // path (~2 µs a frame in Node 20; docs/performance.md).
    const message: FrameProperties = { request_id: '', sensor_id: '', capture_at_ms: 0, ...frame };
    message.request_id = requestId;
    message.sensor_id = options.sensorId;
    message.capture_at_ms = wallClockMs();
    const encoded = encodeMessage(Frame, message);
    // The round trip starts here, after encoding: what it measures is the pipeline's, not this process's.
    const answer = waitFor(requestId, sendOptions.timeoutMs ?? options.timeoutMs, { pending, stats });
    // Marked handled here: a timeout while the publish is in flight must not surface as an unhandled rejection.
    answer.catch(() => undefined);
    try {
      // A forced configuration travels on the control channel (only the optimizer role may publish there).
      const topic = frame.configuration ? topics.controlFrames(options.sensorId) : topics.frames(options.sensorId);
      // A view, not Buffer.from(encoded), which would copy the frame. MQTT.js's store of
      // unacknowledged packets shares it as well (common/mqtt-internals.ts): never written once published.
      await mqtt.publishAsync(topic, Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength), { qos: 1 });
    } catch (err) {
      settle(pending, requestId)?.reject(err as Error);
      throw err;
    }
    stats.sent++;
    return { requestId, answer };
  };
  return {
    sensorId: options.sensorId,
    send,
    request: async (frame, requestOptions) => (await send(frame, requestOptions)).answer,
    waitForEdge: (model, { timeoutMs }) => waitForEdge(mqtt, model, timeoutMs, logger),
    stats: () => ({ ...stats }),
    close: () => (closing ??= closeClient(mqtt, pending, options.sensorId)),
  };
}

function waitFor(requestId: string, timeoutMs: number, state: { pending: Map<string, Pending>; stats: FrameClientStats }): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const entry: Pending = { resolve, reject, sentAt: performance.now() };
    if (Number.isFinite(timeoutMs)) {
      entry.timer = setTimeout(() => {
        state.pending.delete(requestId);
        state.stats.timedOut++;
        reject(new DynasplitError(ErrorCodes.TIMEOUT, `no result within ${timeoutMs} ms`, { retryable: true, details: { requestId, timeoutMs } }));
      }, timeoutMs);
    }
    state.pending.set(requestId, entry);
  });
}

function onResult(payload: Buffer, state: { pending: Map<string, Pending>; stats: FrameClientStats; runId: string; logger: Logger }): void {
  const at = performance.now();
  let result: Result;
  try {
    result = Result.decode(payload);
  } catch (err) {
    state.stats.undecodable++;
    state.logger.warn({ err: (err as Error).message }, 'undecodable result ignored');
    return;
  }
  const entry = settle(state.pending, result.request_id);
  if (entry) {
    state.stats.answered++;
    entry.resolve({ result, roundTripMs: at - entry.sentAt });
  } else if (result.request_id.startsWith(`${state.runId}-`)) {
    state.stats.unmatched++;
  }
}

/** Takes a request out of the pending set and stops its timer. */
function settle(pending: Map<string, Pending>, requestId: string): Pending | undefined {
  const entry = pending.get(requestId);
  if (!entry) return undefined;
  pending.delete(requestId);
  clearTimeout(entry.timer);
  return entry;
}

async function closeClient(mqtt: MqttClient, pending: Map<string, Pending>, sensorId: string): Promise<void> {
  for (const requestId of [...pending.keys()]) {
    settle(pending, requestId)!.reject(new DynasplitError(ErrorCodes.CLOSED, `frame client ${sensorId} closed before the result of ${requestId}`));
  }
  await endMqtt(mqtt);
}
