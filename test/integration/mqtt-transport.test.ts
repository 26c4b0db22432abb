/**
 * The MQTT tensor transport (MQTT 3.1.1 with `$share` subscriptions), against our aedes broker
 * (broker/) and against Mosquitto: the contract suite, plus what only the MQTT transport does
 * (reply_to/correlation_id, the reply-topic guard, one serving per connection, a reused client).
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { startBroker } from '../../broker/index.ts';
import { ErrorCodes } from '../../common/index.ts';
import { NodeAnnouncement, TailRequest, topics, type TailRequest as TailRequestMessage } from '../../schemas/index.ts';
import { createMqttTransport, type MqttTransportOptions } from '../../transport/index.ts';
import { freePort, startMosquitto } from '../../local-servers/index.ts';
import { describeTransportContract, makeRequest, uniqueName } from './transport-contract.ts';

interface StartedBroker {
  url: string;
  stop(): Promise<void>;
}

async function startAedes(): Promise<StartedBroker> {
  const handle = await startBroker({ host: '127.0.0.1', port: 0 });
  return { url: handle.url, stop: () => handle.close() };
}

describe.each([
  { brokerName: 'the dynasplit broker (aedes)', start: startAedes },
  { brokerName: 'Mosquitto', start: startMosquitto },
])('MQTT tensor transport on $brokerName', ({ brokerName, start }) => {
  let broker: StartedBroker | undefined;
  let rawClient: MqttClient | undefined;
  beforeAll(async () => {
    broker = await start();
    rawClient = await connectAsync(broker.url, { protocolVersion: 4 });
  });
  afterAll(async () => {
    await rawClient?.endAsync();
    await broker?.stop();
  });
  const url = (): string => broker!.url;
  /** A plain client, standing in for a foreign or hostile one. */
  const raw = (): MqttClient => rawClient!;

  describeTransportContract(`mqtt on ${brokerName}`, async () => {
    const [edge, cloud, cloud2] = await Promise.all([0, 1, 2].map(() => createMqttTransport({ url: url() })));
    return {
      edge: edge!,
      cloud: cloud!,
      cloud2: cloud2!,
      sendGarbage: async (model, bytes) => {
        await raw().publishAsync(topics.tailRequests(model), Buffer.from(bytes), { qos: 1 });
        return undefined; // MQTT has no way back for a request without a reply_to
      },
      teardown: async () => {
        await Promise.all([edge!.close(), cloud!.close(), cloud2!.close()]);
      },
    };
  });

  async function transport(options: MqttTransportOptions = {}) {
    const t = await createMqttTransport({ url: url(), ...options });
    onTestFinished(() => t.close());
    return t;
  }

  it('sends reply_to = the edge reply topic and a unique correlation_id, echoed in the reply', async () => {
    const [edge, cloud] = await Promise.all([transport({ edgeId: uniqueName('edge') }), transport()]);
    const model = uniqueName('m');
    const seen: TailRequestMessage[] = [];
    await cloud.serve(async (request) => {
      seen.push(request);
      return { output: request.tensor };
    }, { models: [model] });
    await edge.request(makeRequest(model, 'a', new Float32Array([1])), { timeoutMs: 5_000 });
    await edge.request(makeRequest(model, 'b', new Float32Array([1])), { timeoutMs: 5_000 });
    expect(seen[0]!.reply_to).toMatch(/^dynasplit\/v1\/tail-replies\/edge-/);
    expect(seen[0]!.correlation_id).not.toBe('');
    expect(seen[1]!.correlation_id).not.toBe(seen[0]!.correlation_id);
  });

  it('logs and drops garbage and replies aimed outside the tail-replies topics, and keeps serving', async () => {
    const logs: Array<{ msg: string; err?: { code?: string } }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const [edge, cloud] = await Promise.all([transport(), transport({ logger })]);
    const model = uniqueName('m');
    let handled = 0;
    await cloud.serve(async (request) => {
      handled++;
      return { output: request.tensor };
    }, { models: [model] });
    const victim = `dynasplit/v1/policy/${uniqueName('m')}/pi4`;
    const received: string[] = [];
    const listener = (topic: string): void => void received.push(topic);
    raw().on('message', listener);
    onTestFinished(() => void raw().off('message', listener));
    await raw().subscribeAsync(victim, { qos: 1 });
    const hostile = TailRequest.encode({ ...makeRequest(model, 'x', new Float32Array([1])), reply_to: victim, correlation_id: 'c' }).finish();
    await raw().publishAsync(topics.tailRequests(model), Buffer.from(hostile), { qos: 1 });
    await raw().publishAsync(topics.tailRequests(model), Buffer.alloc(16, 0xff), { qos: 1 });

    const reply = await edge.request(makeRequest(model, 'ok', new Float32Array([1])), { timeoutMs: 5_000 });
    expect(reply.request_id).toBe('ok');
    expect(handled).toBe(1);
    expect(received).not.toContain(victim);
    expect(logs.map((l) => [l.msg, l.err?.code])).toEqual([
      ['tail request without a valid reply_to; dropped', undefined],
      ['bad tail request', ErrorCodes.BAD_FRAME],
    ]);
  });

  it('allows one serving per transport at a time', async () => {
    const cloud = await transport();
    const serving = await cloud.serve(async (r) => ({ output: r.tensor }), { models: [uniqueName('m')] });
    await expect(cloud.serve(async (r) => ({ output: r.tensor }))).rejects.toMatchObject({ code: ErrorCodes.BAD_ARGS });
    await serving.close();
    const again = await cloud.serve(async (r) => ({ output: r.tensor }), { models: [uniqueName('m')] });
    await again.close();
  });

  it('leaves a reused client connected on close', async () => {
    const client = await connectAsync(url(), { protocolVersion: 4 });
    onTestFinished(() => client.endAsync());
    const edge = await transport({ client });
    await edge.close();
    expect(client.connected).toBe(true);
  });

  it('answers NO_WORKERS at once when the workers\' announcements show none UP for the model, and goes out where none are heard', async () => {
    const [model, other, edgeId, workerId] = [uniqueName('m'), uniqueName('o'), uniqueName('edge'), uniqueName('worker')];
    const retained = { qos: 1, retain: true } as const;
    const announce = (role: 'edge' | 'cloud', id: string, state: number, models: string[]) => raw().publishAsync(topics.announcement(role, id),
      Buffer.from(NodeAnnouncement.encode(NodeAnnouncement.create({ node_id: id, role, state, models: models.map((name) => ({ name, cuts: [] })) })).finish()), retained);
    onTestFinished(async () => {
      for (const [role, id] of [['edge', edgeId], ['cloud', workerId]] as const) await raw().publishAsync(topics.announcement(role, id), Buffer.alloc(0), retained);
    });
    const [edge, cloud] = await Promise.all([transport({ edgeId }), transport()]);
    await cloud.serve(async (r) => ({ output: r.tensor }), { models: [model] });
    let n = 0;
    const ask = () => edge.request(makeRequest(model, `r${n++}`, new Float32Array([1])), { timeoutMs: 60_000 });
    // No worker's announcement heard (a broker that withholds them, workers that do not announce): requests go out.
    await announce('edge', edgeId, NodeAnnouncement.State.UP, [model]);
    await expect(ask()).resolves.toMatchObject({ error: null });
    const refused = (up: RegExp) => vi.waitFor(() => expect(ask()).rejects.toMatchObject({ code: ErrorCodes.NO_WORKERS, message: expect.stringMatching(up) }), { timeout: 10_000 });
    // The workers announce themselves: none UP serves the model, so nobody would answer.
    await announce('cloud', workerId, NodeAnnouncement.State.UP, [other]);
    await refused(new RegExp(`no cloud worker serves '${model}' \\(workers up: ${workerId} \\(${other}\\)\\)`));
    // STARTING: not subscribed yet. UP with the model: requests go out again. GONE (its last will): refused at once.
    await announce('cloud', workerId, NodeAnnouncement.State.STARTING, [model]);
    await refused(/workers up: none/);
    await announce('cloud', workerId, NodeAnnouncement.State.UP, [model, other]);
    await vi.waitFor(() => expect(ask()).resolves.toMatchObject({ error: null }), { timeout: 10_000 });
    await announce('cloud', workerId, NodeAnnouncement.State.GONE, [model]);
    await refused(/workers up: none/);
  });

  it('rejects with TRANSPORT when no broker listens, and with BAD_ARGS for a bad edge id', async () => {
    await expect(createMqttTransport({ url: `mqtt://127.0.0.1:${await freePort()}` }))
      .rejects.toMatchObject({ code: ErrorCodes.TRANSPORT, retryable: true });
    await expect(createMqttTransport({ url: url(), edgeId: 'a/b' })).rejects.toMatchObject({ code: ErrorCodes.BAD_ARGS });
  });
});
