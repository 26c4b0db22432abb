/**
 * NATS security against a real nats-server with TLS and the subject permissions of
 * docs/security.md: the edge logs in with user/password, the cloud worker with an nkey; the tensor
 * transport works end to end (chunked both ways, which needs the _INBOX permissions), and neither
 * account can do the other's job.
 */
import { connect, nkeys, PermissionViolationError, type NatsConnection } from '@nats-io/transport-node';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { startBroker } from '../../broker/index.ts';
import { startCloudWorker } from '../../cloud-worker/index.ts';
import { startEdgeNode } from '../../edge-node/index.ts';
import { runSensor } from '../../sensor/index.ts';
import { isDynasplitError } from '../../common/index.ts';
import { TailRequest } from '../../schemas/index.ts';
import { createNatsTransport, type NatsTransportOptions, type TensorTransport } from '../../transport/index.ts';
import { createTestPki, type TestPki } from '../helpers/certs.ts';
import { startNatsServer, type RunningServer } from '../../local-servers/index.ts';
import { makeRequest, uniqueName } from './transport-contract.ts';

/** bytes; small, so that a 200 KB tensor travels in chunks in both directions. */
const MAX_PAYLOAD = 64 * 1024;
const cloudKey = nkeys.createUser();
const cloudSeed = new TextDecoder().decode(cloudKey.getSeed());
let pki: TestPki;
let server: RunningServer;
let tls: { caFile: string };

/** The authorization block of docs/security.md, with the test's credentials. */
function authorization(): string[] {
  return [
    'authorization {',
    '  EDGE = { publish: ["dynasplit.v1.tail.*", "_INBOX.>"], subscribe: ["_INBOX.>"] }',
    '  CLOUD = { publish: ["_INBOX.>"], subscribe: ["dynasplit.v1.tail.*", "_INBOX.>"] }',
    '  users = [',
    '    { user: edge-1, password: "edge-1-pw", permissions: $EDGE }',
    // An edge account whose replies cannot reach it: it may send tail requests, not read _INBOX.
    '    { user: edge-deaf, password: "edge-deaf-pw", permissions: { publish: ["dynasplit.v1.tail.*"], subscribe: { deny: ["_INBOX.>"] } } }',
    `    { nkey: ${cloudKey.getPublicKey()}, permissions: $CLOUD }`,
    '  ]',
    '}',
  ];
}

beforeAll(async () => {
  pki = createTestPki();
  tls = { caFile: pki.caFile };
  server = await startNatsServer({
    maxPayload: MAX_PAYLOAD,
    config: [`tls { cert_file: "${pki.server.certFile}", key_file: "${pki.server.keyFile}", ca_file: "${pki.caFile}", timeout: 5 }`, ...authorization()],
  });
});
afterAll(async () => {
  await server?.stop();
  pki?.remove();
});

const EDGE: Partial<NatsTransportOptions> = { user: 'edge-1', pass: 'edge-1-pw' };
const CLOUD: Partial<NatsTransportOptions> = { nkeySeed: cloudSeed };

async function transport(credentials: Partial<NatsTransportOptions>, logger?: pino.Logger): Promise<TensorTransport> {
  const t = await createNatsTransport({ servers: server.url, name: 'security-test', tls, logger, ...credentials });
  onTestFinished(() => t.close());
  return t;
}

async function raw(credentials: { user?: string; pass?: string }): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url, tls, ...credentials });
  onTestFinished(() => nc.close());
  return nc;
}

function logCollector(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) }) };
}

describe('NATS with TLS, credentials and subject permissions', () => {
  it('carries tail requests and replies between the edge (user/password) and cloud (nkey) accounts, chunked both ways', async () => {
    const cloud = await transport(CLOUD);
    const edge = await transport(EDGE);
    const model = uniqueName('secure');
    await cloud.serve(async (request) => ({ request_id: request.request_id, output: request.tensor }), { models: [model] });
    const request = makeRequest(model, 'r1', new Float32Array(50_000).fill(0.5), [1, 50_000]);
    expect(TailRequest.encode(request).finish().length).toBeGreaterThan(3 * MAX_PAYLOAD);
    const reply = await edge.request(request, { timeoutMs: 10_000 });
    expect(reply.error).toBeFalsy();
    expect(reply.request_id).toBe('r1');
    expect(reply.output?.data?.length).toBe(request.tensor?.data?.length);
  });

  it('an edge account cannot subscribe as a worker: the server refuses the subscription (permission violation)', async () => {
    const nc = await raw({ user: 'edge-1', pass: 'edge-1-pw' });
    const sub = nc.subscribe('dynasplit.v1.tail.*', { queue: 'cloud' });
    await nc.flush();
    const outcome = await sub.closed;
    expect(outcome).toBeInstanceOf(PermissionViolationError);
    expect(String((outcome as Error).message)).toMatch(/Permissions Violation for Subscription to "dynasplit.v1.tail.\*"/);

    // Through the transport the violation is logged, and the requests go to the real workers only.
    const { logger, lines } = logCollector();
    const impostor = await transport(EDGE, logger);
    const model = uniqueName('impostor');
    await impostor.serve(async () => { throw new Error('an edge account must not be handed requests'); }, { models: [model] });
    const cloud = await transport(CLOUD);
    await cloud.serve(async (request) => ({ request_id: request.request_id }), { models: [model] });
    const edge = await transport(EDGE);
    for (let i = 0; i < 5; i++) expect((await edge.request(makeRequest(model, `r${i}`, new Float32Array(4)), { timeoutMs: 5_000 })).error).toBeFalsy();
    expect(lines.some((l) => l.msg === 'tail subscription failed' && /Permissions Violation/.test(String((l.err as { message?: string })?.message)))).toBe(true);
  });

  it('an edge account that may not read _INBOX gets TRANSPORT naming the refused reply subscription, not a timeout, on every request', async () => {
    const cloud = await transport(CLOUD);
    const model = uniqueName('deaf');
    await cloud.serve(async (request) => ({ request_id: request.request_id }), { models: [model] });
    const edge = await transport({ user: 'edge-deaf', pass: 'edge-deaf-pw' });
    for (const id of ['r1', 'r2']) {
      const err = await edge.request(makeRequest(model, id, new Float32Array(4)), { timeoutMs: 30_000 }).catch((e: unknown) => e);
      expect(isDynasplitError(err, 'DYNASPLIT_ERR_TRANSPORT'), String(err)).toBe(true);
      expect(String((err as Error).message)).toMatch(/Permissions Violation for Subscription to "_INBOX\./);
    }
  });

  it('a cloud account cannot send tail requests, and nobody reads the tail subjects without an account', async () => {
    const cloud = await transport(CLOUD);
    const err = await cloud.request(makeRequest(uniqueName('reverse'), 'r', new Float32Array(4)), { timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(isDynasplitError(err, 'DYNASPLIT_ERR_TRANSPORT'), String(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(/Permissions Violation for Publish/);
    const anonymous = await connect({ servers: server.url, tls }).catch((e: unknown) => e);
    expect(String(anonymous)).toMatch(/Authorization Violation/);
  });

  it('takes credentials from the URL; refuses bad ones (not retryable, no password in the error), plain connections, contradictory options', async () => {
    const wrong = await createNatsTransport({ servers: server.url.replace('nats://', 'nats://edge-1:s3cret-wrong@'), tls }).catch((e: unknown) => e);
    expect(isDynasplitError(wrong, 'DYNASPLIT_ERR_TRANSPORT')).toBe(true);
    expect((wrong as { retryable: boolean }).retryable).toBe(false);
    expect(JSON.stringify(wrong) + String((wrong as Error).message)).not.toContain('s3cret-wrong');
    // nats.js ignores user info in URLs; the transport takes it as the credentials.
    const viaUrl = await createNatsTransport({ servers: server.url.replace('nats://', 'nats://edge-1:edge-1-pw@'), tls });
    await viaUrl.close();

    const untrusted = await createNatsTransport({ servers: server.url, ...EDGE }).catch((e: unknown) => e);
    expect(isDynasplitError(untrusted, 'DYNASPLIT_ERR_TRANSPORT'), String(untrusted)).toBe(true);

    for (const bad of [{ user: 'a', pass: 'b', token: 'c' }, { user: 'a' }, { nkeySeed: 'not-a-seed' }, { token: 't', nkeySeed: cloudSeed }]) {
      const err = await createNatsTransport({ servers: server.url, tls, ...bad }).catch((e: unknown) => e);
      expect(isDynasplitError(err, 'DYNASPLIT_ERR_BAD_ARGS'), JSON.stringify(bad)).toBe(true);
    }
  });
});

describe('components on the secured NATS server', () => {
  it('an edge node (password in the URL) and a cloud worker (nkey) serve frames end to end over TLS', async () => {
    const model = join(inject('zooDir'), 'vgg16-tiny.onnx');
    const broker = await startBroker({ host: '127.0.0.1', port: 0 });
    onTestFinished(() => broker.close());
    const models = { 'vgg16-tiny': model };
    const cloud = await startCloudWorker({ workerId: 'sec-cloud', transport: 'nats', natsUrl: server.url, natsAuth: { nkeySeed: cloudSeed, tls }, mqttUrl: broker.url, models, threads: 1 });
    onTestFinished(() => cloud.close());
    const edge = await startEdgeNode({
      edgeId: 'sec-edge', transport: 'nats', natsUrl: server.url.replace('://', '://edge-1:edge-1-pw@'), natsAuth: { tls }, mqttUrl: broker.url, models, threads: 1,
    });
    onTestFinished(() => edge.close());
    const summary = await runSensor({ sensorId: 'sec-sensor', mqttUrl: broker.url, model: 'vgg16-tiny', modelSource: model, count: 12, rate: 100, budgets: 'fixed:5000' });
    expect(summary).toMatchObject({ requests: 12, results: 12, errors: 0, edgeFallbacks: 0 });
    expect(summary.workers).toEqual({ 'sec-cloud': 8 });
  });
});
