/**
 * The FrameClient against a real aedes broker, with a responder in place of the edge node that
 * answers, answers twice, stays silent, or sends garbage, as each frame's model asks.
 */
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { connectFrameClient } from '../../client/index.ts';
import { connectMqtt, isDynasplitError, type MqttClient } from '../../common/index.ts';
import { Frame, Result, topics } from '../../schemas/index.ts';

const SENSOR = `frame-client-${process.pid}`;
let broker: BrokerHandle;
let responder: MqttClient;
const frames: Frame[] = [];

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  responder = await connectMqtt(broker.url, { clientId: `responder-${process.pid}` });
  responder.on('message', (_topic, payload) => {
    const frame = Frame.decode(payload);
    frames.push(frame);
    const reply = (result: object) => responder.publish(topics.results(SENSOR), Buffer.from(Result.encode(Result.create(result)).finish()), { qos: 1 });
    const answer = { request_id: frame.request_id, budget_ms: frame.budget_ms, class_index: 7 };
    if (frame.model === 'answer') reply(answer);
    if (frame.model === 'twice') [0, 1].forEach(() => reply(answer));
    if (frame.model === 'foreign') reply({ ...answer, request_id: 'someone-else-1' });
    if (frame.model === 'garbage') responder.publish(topics.results(SENSOR), Buffer.from([0xff, 0xff, 0xff]), { qos: 1 });
  });
  await responder.subscribeAsync(topics.frames(SENSOR), { qos: 1 });
});

afterAll(async () => {
  await responder?.endAsync();
  await broker?.close();
});

const codeOf = async (promise: Promise<unknown>) => promise.then(() => 'resolved', (err) => (isDynasplitError(err) ? err.code : 'not coded'));

describe('FrameClient', () => {
  it('publishes a frame with its own request id and sensor id, and resolves with the matching Result', async () => {
    const client = await connectFrameClient({ mqttUrl: broker.url, sensorId: SENSOR, timeoutMs: 10_000 });
    try {
      const { requestId, answer } = await client.send({ model: 'answer', budget_ms: 40, request_id: 'ignored', sensor_id: 'ignored' });
      const { result, roundTripMs } = await answer;
      expect(result.request_id).toBe(requestId);
      expect(result.class_index).toBe(7);
      expect(roundTripMs).toBeGreaterThan(0);
      const sent = frames.find((f) => f.request_id === requestId)!;
      expect(sent).toMatchObject({ sensor_id: SENSOR, budget_ms: 40 });
      expect(requestId.startsWith(`${SENSOR}-`)).toBe(true);
      const second = await client.request({ model: 'answer', budget_ms: 40 });
      expect(second.result.request_id).not.toBe(requestId);
      expect(client.stats()).toMatchObject({ sent: 2, answered: 2, timedOut: 0 });
    } finally {
      await client.close();
    }
  });

  it('rejects with DYNASPLIT_ERR_TIMEOUT when no Result comes, and counts what no request waits for', async () => {
    const client = await connectFrameClient({ mqttUrl: broker.url, sensorId: SENSOR, timeoutMs: 10_000 });
    try {
      expect(await codeOf(client.request({ model: 'silent', budget_ms: 1 }, { timeoutMs: 50 }))).toBe('DYNASPLIT_ERR_TIMEOUT');
      await client.request({ model: 'twice', budget_ms: 1 });
      await client.request({ model: 'foreign', budget_ms: 1 }, { timeoutMs: 50 }).catch(() => undefined);
      await client.request({ model: 'garbage', budget_ms: 1 }, { timeoutMs: 50 }).catch(() => undefined);
      // The second answer of 'twice' is unmatched; a Result of another run is not counted at all.
      await vi.waitFor(() => expect(client.stats()).toMatchObject({ sent: 4, answered: 1, timedOut: 3, unmatched: 1, undecodable: 1 }));
    } finally {
      await client.close();
    }
  });

  it('with a persistent session, the broker keeps the results published while the sensor is away', async () => {
    const client = await connectFrameClient({ mqttUrl: broker.url, sensorId: SENSOR, timeoutMs: 10_000, persistentSession: true });
    await client.request({ model: 'answer', budget_ms: 1 });
    await client.close();
    // Away: a result is published (as an edge answers after a broker restart); the session queues it.
    await responder.publishAsync(topics.results(SENSOR), Buffer.from(Result.encode(Result.create({ request_id: 'while-away', class_index: 3 })).finish()), { qos: 1 });
    const back = await connectAsync(broker.url, { protocolVersion: 4, clientId: `${SENSOR}-session`, clean: false });
    try {
      const received: string[] = [];
      back.on('message', (_topic, payload) => received.push(Result.decode(payload).request_id));
      await vi.waitFor(() => expect(received).toEqual(['while-away']));
    } finally {
      await back.endAsync();
    }
  });

  it('closes idempotently, rejecting what still waits with DYNASPLIT_ERR_CLOSED and refusing new frames', async () => {
    const client = await connectFrameClient({ mqttUrl: broker.url, sensorId: SENSOR, timeoutMs: Infinity });
    const { answer } = await client.send({ model: 'silent', budget_ms: 1 });
    const closed = codeOf(answer);
    await Promise.all([client.close(), client.close()]);
    await client.close();
    expect(await closed).toBe('DYNASPLIT_ERR_CLOSED');
    expect(await codeOf(client.request({ model: 'answer', budget_ms: 1 }))).toBe('DYNASPLIT_ERR_CLOSED');
  });
});
