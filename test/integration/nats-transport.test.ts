/**
 * The NATS tensor transport against a real nats-server (default max_payload, 1 MiB): the contract
 * suite, plus what only NATS has (no-responders, chunk headers, a reused connection).
 */
import { connect, Empty, headers, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { ErrorCodes } from '../../common/index.ts';
import { subjects, TailReply, TailRequest } from '../../schemas/index.ts';
import { createNatsTransport } from '../../transport/index.ts';
import { freePort, startNatsServer, type RunningServer } from '../../local-servers/index.ts';
import { seededRandom, uniformArray } from '../helpers/random.ts';
import { describeTransportContract, makeRequest, sameBytes, uniqueName, VGG16_EARLY_SHAPE } from './transport-contract.ts';

let server: RunningServer;
let raw: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer();
  raw = await connect({ servers: server.url, name: 'test-raw' });
});
afterAll(async () => {
  await raw?.close();
  await server?.stop();
});

describeTransportContract('nats', async () => {
  const [edge, cloud, cloud2] = await Promise.all(['edge', 'cloud', 'cloud2'].map((name) => createNatsTransport({ servers: server.url, name })));
  return {
    edge: edge!,
    cloud: cloud!,
    cloud2: cloud2!,
    sendGarbage: async (model, bytes) => TailReply.decode((await raw.request(subjects.tail(model), bytes, { timeout: 5_000 })).data),
    teardown: async () => {
      await Promise.all([edge!.close(), cloud!.close(), cloud2!.close()]);
    },
  };
});

async function transport(name: string, connection?: NatsConnection, logger?: pino.Logger) {
  const t = await createNatsTransport({ servers: server.url, name, connection, logger });
  onTestFinished(() => t.close());
  return t;
}

describe('NATS tensor transport', () => {
  it('runs against a server whose max_payload the 12.8 MB request really exceeds', () => {
    expect(raw.info?.max_payload).toBe(1_048_576);
    const request = makeRequest('m', 'big', new Float32Array(64 * 224 * 224), VGG16_EARLY_SHAPE);
    expect(TailRequest.encode(request).finish().length).toBeGreaterThan(12 * raw.info!.max_payload);
  });

  it('rejects at once with NO_WORKERS when nobody subscribes to the subject', async () => {
    const edge = await transport('edge');
    const started = performance.now();
    await expect(edge.request(makeRequest(uniqueName('m'), 'r', new Float32Array([1])), { timeoutMs: 5_000 }))
      .rejects.toMatchObject({ code: ErrorCodes.NO_WORKERS, retryable: true });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('answers malformed chunk headers with BAD_FRAME and a vanished chunk sender with TRANSPORT, and logs both', async () => {
    const logs: Array<{ msg: string; err?: { code?: string } }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const cloud = await transport('cloud', undefined, logger);
    const model = uniqueName('m');
    await cloud.serve(async (request) => ({ output: request.tensor }), { models: [model] });
    const bad = headers();
    bad.set('Dynasplit-Chunk-Subject', 'x.>');
    bad.set('Dynasplit-Bytes', '-5');
    bad.set('Dynasplit-Chunk-Bytes', 'lots');
    const badReply = TailReply.decode((await raw.request(subjects.tail(model), Empty, { timeout: 5_000, headers: bad })).data);
    expect(badReply.error?.code).toBe(ErrorCodes.BAD_FRAME);

    const gone = headers();
    gone.set('Dynasplit-Chunk-Subject', `${uniqueName('nobody')}.here`);
    gone.set('Dynasplit-Bytes', '3000000');
    gone.set('Dynasplit-Chunk-Bytes', '1048576');
    const goneReply = TailReply.decode((await raw.request(subjects.tail(model), Empty, { timeout: 5_000, headers: gone })).data);
    expect(goneReply.error?.code).toBe(ErrorCodes.TRANSPORT);
    expect(logs.filter((l) => l.msg === 'bad tail request').map((l) => l.err?.code)).toEqual([ErrorCodes.BAD_FRAME, ErrorCodes.TRANSPORT]);
  });

  it('names an inline request it cannot decode by the request_id in its body (no header on inline requests)', async () => {
    const logs: Array<{ msg: string; requestId?: string; err?: { code?: string } }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const cloud = await transport('cloud', undefined, logger);
    const edge = await transport('edge');
    const model = uniqueName('m');
    await cloud.serve(async (request) => ({ output: request.tensor }), { models: [model] });
    // What the edge's transport puts on the wire for an inline request: the body alone.
    const sub = raw.subscribe(subjects.tail(model), { max: 1 });
    const seen = (async () => { for await (const m of sub) return m; })();
    await raw.flush();
    await edge.request(makeRequest(model, 'whole', new Float32Array(16)), { timeoutMs: 5_000 });
    expect((await seen)?.headers).toBeUndefined();

    const body = TailRequest.encode(makeRequest(model, 'cut-short-7', new Float32Array(4096))).finish();
    const reply = TailReply.decode((await raw.request(subjects.tail(model), body.subarray(0, 5000), { timeout: 5_000 })).data);
    expect(reply.error?.code).toBe(ErrorCodes.BAD_FRAME);
    expect(reply.request_id).toBe('cut-short-7');
    expect(logs.find((l) => l.msg === 'bad tail request')).toMatchObject({ requestId: 'cut-short-7', err: { code: ErrorCodes.BAD_FRAME } });
  });

  it('chunks on a server with a small max_payload too (64 KiB), in both directions', async () => {
    const small = await startNatsServer({ maxPayload: 65_536 });
    onTestFinished(() => small.stop());
    const [edge, cloud] = await Promise.all([createNatsTransport({ servers: small.url }), createNatsTransport({ servers: small.url })]);
    onTestFinished(() => Promise.all([edge.close(), cloud.close()]).then(() => undefined));
    const model = uniqueName('m');
    await cloud.serve(async (request) => ({ output: request.tensor }), { models: [model] });
    const data = uniformArray(seededRandom(7), 300_000); // 1.2 MB: 19 chunks of 64 KiB
    const reply = await edge.request(makeRequest(model, 'r', data), { timeoutMs: 10_000 });
    expect(sameBytes(reply.output!.data!, new Uint8Array(data.buffer))).toBe(true);
  });

  it('leaves a reused connection open on close, and maps a closed one to TRANSPORT', async () => {
    const nc = await connect({ servers: server.url });
    onTestFinished(() => nc.close());
    const edge = await transport('edge', nc);
    await edge.close();
    expect(nc.isClosed()).toBe(false);

    const other = await connect({ servers: server.url });
    const edge2 = await transport('edge2', other);
    await other.close();
    await expect(edge2.request(makeRequest('m', 'r', new Float32Array([1])), { timeoutMs: 1_000 }))
      .rejects.toMatchObject({ code: ErrorCodes.TRANSPORT });
    await expect(edge2.request(makeRequest('m', 'big', new Float32Array(1_000_000)), { timeoutMs: 1_000 }))
      .rejects.toMatchObject({ code: ErrorCodes.TRANSPORT });
    await expect(edge2.serve(async (r) => ({ output: r.tensor }))).rejects.toMatchObject({ code: ErrorCodes.TRANSPORT });
  });

  it('routes each reply to its own request: one that timed out gets TIMEOUT, its late reply is dropped, the next gets its own', async () => {
    const [edge, cloud] = await Promise.all([transport('edge'), transport('cloud')]);
    const model = uniqueName('m');
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    onTestFinished(release);
    await cloud.serve(async (request) => {
      if (request.request_id === 'slow') await held;
      return { request_id: request.request_id, output: request.tensor };
    }, { models: [model] });
    await expect(edge.request(makeRequest(model, 'slow', new Float32Array([1])), { timeoutMs: 200 }))
      .rejects.toMatchObject({ code: ErrorCodes.TIMEOUT, retryable: true, details: { timeoutMs: 200 } });
    release();
    const replies = await Promise.all(['a', 'b', 'c'].map((id) => edge.request(makeRequest(model, id, new Float32Array([2])), { timeoutMs: 5_000 })));
    expect(replies.map((r) => r.request_id)).toEqual(['a', 'b', 'c']);
  });

  it('rejects requests in flight at once when the server goes, and is answered again once it is back on its port', async () => {
    const port = await freePort();
    let server2 = await startNatsServer({ port });
    onTestFinished(() => server2.stop());
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const [edge, cloud] = await Promise.all(['edge', 'cloud'].map((name) => createNatsTransport({ servers: server2.url, name })));
    // The worker's close waits for its handler, held until then.
    onTestFinished(() => (release(), Promise.all([edge!.close(), cloud!.close()]).then(() => undefined)));
    const model = uniqueName('m');
    let arrived: () => void = () => undefined;
    const inHandler = new Promise<void>((resolve) => (arrived = resolve));
    await cloud!.serve(async (request) => {
      if (request.request_id === 'held') {
        arrived();
        await released; // the server goes first
      }
      return { request_id: request.request_id, output: request.tensor };
    }, { models: [model] });
    expect((await edge!.request(makeRequest(model, 'before', new Float32Array([1])), { timeoutMs: 5_000 })).request_id).toBe('before');
    const started = performance.now();
    const held = edge!.request(makeRequest(model, 'held', new Float32Array([1])), { timeoutMs: 30_000 });
    await inHandler;
    server2.kill9();
    await expect(held).rejects.toMatchObject({ code: ErrorCodes.TRANSPORT, retryable: true });
    expect(performance.now() - started).toBeLessThan(10_000);
    await server2.stop();
    server2 = await startNatsServer({ port });
    // Both clients reconnect on their own (nats.js waits ~2 s between tries); the edge's reply
    // subscription, made with its first request, must be back with them.
    await vi.waitFor(async () => {
      expect((await edge!.request(makeRequest(model, 'after', new Float32Array([1])), { timeoutMs: 2_000 })).request_id).toBe('after');
    }, { timeout: 20_000, interval: 100 });
  }, 40_000);

  it('removes its reply subscription from a reused connection on close', async () => {
    const monitored = await startNatsServer({ monitoring: true });
    onTestFinished(() => monitored.stop());
    const nc = await connect({ servers: monitored.url, name: 'reused' });
    onTestFinished(() => nc.close());
    const subscriptions = async (): Promise<number> => {
      await nc.flush();
      const connz = await (await fetch(`${monitored.monitorUrl}/connz?subs=1`)).json() as { connections: { name?: string; subscriptions_list?: string[] }[] };
      return connz.connections.find((c) => c.name === 'reused')?.subscriptions_list?.length ?? 0;
    };
    const edge = await transport('edge', nc);
    await expect(edge.request(makeRequest(uniqueName('m'), 'r', new Float32Array([1])), { timeoutMs: 5_000 })).rejects.toMatchObject({ code: ErrorCodes.NO_WORKERS });
    expect(await subscriptions()).toBe(1);
    await edge.close();
    expect(await subscriptions()).toBe(0);
    expect(nc.isClosed()).toBe(false);
  });

  it('rejects with TRANSPORT when no server listens', async () => {
    await expect(createNatsTransport({ servers: `nats://127.0.0.1:${await freePort()}` }))
      .rejects.toMatchObject({ code: ErrorCodes.TRANSPORT, retryable: true });
  });
});
