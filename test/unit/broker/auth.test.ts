/**
 * The broker with a users file: logins and their CONNACK codes, and each ACL rule through real
 * mqtt.js clients (docs/security.md). TLS and client certificates: test/integration/security.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IClientOptions, MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, startBroker, type BrokerHandle } from '../../../broker/index.ts';
import { Clients, closed, collect, waitFor } from './helpers.ts';
import { granted } from '../../helpers/suback.ts';

/** username, role and, where it differs from the username, the sensor or edge id */
const ACCOUNTS: [string, string, string?][] = [
  ['cam-1', 'sensor'], ['cam-2', 'sensor'], ['edge-1', 'edge'], ['edge-2', 'edge'], ['cloud', 'cloud'], ['opt', 'optimizer'], ['plug', 'meter'],
  ['cam-3a', 'sensor', 'cam-3'], ['cam-3b', 'sensor', 'cam-3'], ['root', 'admin'],
];
const dir = mkdtempSync(join(tmpdir(), 'dynasplit-auth-'));
const logs: Record<string, unknown>[] = [];
const clients = new Clients();
let broker: BrokerHandle;

beforeAll(async () => {
  const users = await Promise.all(ACCOUNTS.map(async ([username, role, id]) => ({
    username, role, passwordHash: await hashPassword(`${username}-pw`, { N: 1024, r: 8, p: 1 }), ...(id ? { id } : {}),
  })));
  writeFileSync(join(dir, 'users.json'), JSON.stringify({ users, powerTopics: ['tele/#'] }));
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  broker = await startBroker({ host: '127.0.0.1', port: 0, wsPort: 0, usersFile: join(dir, 'users.json') }, { logger });
});
afterEach(() => clients.endAll());
afterAll(async () => {
  await clients.endAll();
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

let nextId = 0;
/**
 * A client logged in as `username` with its password; unless one is given, a fresh client id in the
 * account's namespace, and an edge node's own id for an edge account (the only one it may use).
 */
function as(username: string, options: IClientOptions = {}): Promise<MqttClient> {
  const clientId = username.startsWith('edge-') ? username : `${username}-${nextId++}`;
  return clients.connect(broker.url, { username, password: `${username}-pw`, clientId, ...options });
}

async function refusal(options: IClientOptions & { url?: string }): Promise<number | undefined> {
  const { url, ...rest } = options;
  const err = await clients.connect(url ?? broker.url, { clientId: `refused-${nextId++}`, ...rest }).then(() => undefined, (e: unknown) => e);
  return (err as { code?: number } | undefined)?.code;
}

function logged(msg: string, fields: Record<string, unknown>): boolean {
  return logs.some((line) => line.msg === msg && Object.entries(fields).every(([k, v]) => line[k] === v));
}

describe('MQTT logins', () => {
  it('accepts the right password and refuses others with CONNACK 4 or 5, logged', async () => {
    const ok = await as('cam-1');
    expect(ok.connected).toBe(true);
    expect(await refusal({ username: 'cam-1', password: 'nope' })).toBe(4);
    expect(await refusal({ username: 'nobody', password: 'nope' })).toBe(4);
    expect(await refusal({})).toBe(5);
    expect(logged('MQTT login refused', { username: 'cam-1', returnCode: 4, reason: 'wrong password' })).toBe(true);
    expect(logged('MQTT login refused', { username: 'nobody', returnCode: 4, reason: 'unknown username' })).toBe(true);
    expect(logged('MQTT login refused', { returnCode: 5, reason: 'no credentials' })).toBe(true);
    expect(broker.stats().auth?.loginsRefused).toBeGreaterThanOrEqual(3);
  });

  it('applies to every listener: WebSocket clients log in the same way', async () => {
    expect(await refusal({ url: broker.wsUrl })).toBe(5);
    const ok = await clients.connect(broker.wsUrl!, { username: 'cam-1', password: 'cam-1-pw', clientId: `cam-1-ws-${nextId++}` });
    expect(await granted(ok, 'dynasplit/v1/results/cam-2')).toBe(128);
  });

  it('an account uses only the client ids of its role (CONNACK 5), before any takeover: the holder stays connected', async () => {
    const edge = await as('edge-1');
    const tail = await as('edge-1', { clientId: 'edge-1-t' });
    for (const clientId of ['edge-1', 'edge-1-t']) {
      expect(await refusal({ username: 'cam-1', password: 'cam-1-pw', clientId }), clientId).toBe(5);
      expect(await refusal({ username: 'edge-2', password: 'edge-2-pw', clientId }), clientId).toBe(5);
      expect(await refusal({ username: 'root', password: 'root-pw', clientId }), clientId).toBe(5);
    }
    expect(await refusal({ username: 'edge-1', password: 'edge-1-pw', clientId: 'edge-1-x' })).toBe(5);
    expect(await refusal({ username: 'cam-1', password: 'cam-1-pw', clientId: 'cam-2-1' })).toBe(5);
    expect(await refusal({ username: 'cam-1', password: 'cam-1-pw', clientId: 'mqttjs_1' })).toBe(5);
    expect(edge.connected && tail.connected).toBe(true);
    expect(await granted(edge, 'dynasplit/v1/tail-replies/edge-1')).toBe(1);
    expect(logged('MQTT login refused', { username: 'cam-1', clientId: 'edge-1', returnCode: 5, reason: "client id 'edge-1' belongs to account 'edge-1'" }))
      .toBe(true);
    // The namespace of the longest name: cam-1's clients are not cam's, an admin takes what is no one's.
    expect((await as('cam-1', { clientId: 'cam-1-7-x' })).connected).toBe(true);
    expect((await as('root', { clientId: 'tool-1' })).connected).toBe(true);
    const gone = closed(edge);
    const again = await as('edge-1');
    await gone;
    expect(again.connected).toBe(true);
  });

  it('two accounts of one sensor id share its ids, but not a session the other holds (CONNACK 2)', async () => {
    const held = await as('cam-3a', { clientId: 'cam-3-x', clean: false });
    expect(await refusal({ username: 'cam-3b', password: 'cam-3b-pw', clientId: 'cam-3-x', clean: false })).toBe(2);
    expect(held.connected).toBe(true);
    await held.endAsync();
    // The persistent session outlives its connection, and its owner with it.
    expect(await refusal({ username: 'cam-3b', password: 'cam-3b-pw', clientId: 'cam-3-x' })).toBe(2);
    expect((await as('cam-3b', { clientId: 'cam-3-y' })).connected).toBe(true);
    // A clean connect by the owner ends the session, and the id is free again.
    await (await as('cam-3a', { clientId: 'cam-3-x', clean: true })).endAsync();
    expect((await as('cam-3b', { clientId: 'cam-3-x' })).connected).toBe(true);
  });
});

describe('MQTT ACL', () => {
  it('a sensor publishes its own frames; publishing as another sensor is refused, logged, and delivered to no one', async () => {
    const edge = await as('edge-1');
    const frames = collect(edge);
    expect(await granted(edge, '$share/edge/dynasplit/v1/frames/+')).toBe(1);
    const sensor = await as('cam-1');
    await sensor.publishAsync('dynasplit/v1/frames/cam-1', 'mine', { qos: 1 });
    const gone = closed(sensor);
    sensor.publish('dynasplit/v1/frames/cam-2', 'forged', { qos: 1 }, () => {});
    await gone;
    // The forged publish was refused before the connection closed; a frame sent after it is a marker
    // that anything routed earlier would precede.
    const again = await as('cam-1');
    await again.publishAsync('dynasplit/v1/frames/cam-1', 'marker', { qos: 1 });
    await waitFor(() => frames.length >= 2, () => 'the own frame and the marker');
    expect(frames.map((m) => m.payload)).toEqual(['mine', 'marker']);
    expect(logged('unauthorized PUBLISH refused; closing the connection',
      { clientId: sensor.options.clientId, username: 'cam-1', topic: 'dynasplit/v1/frames/cam-2' })).toBe(true);
  });

  it('a QoS 0 publish out of bounds closes the connection as well', async () => {
    const sensor = await as('cam-2');
    const gone = closed(sensor);
    sensor.publish('dynasplit/v1/results/cam-1', 'x', { qos: 0 });
    await gone;
  });

  it('a sensor cannot read another sensor\'s results (SUBACK 0x80), and gets its own', async () => {
    const own = await as('cam-1');
    const other = await as('cam-2');
    const ownGot = collect(own);
    const otherGot = collect(other);
    expect(await granted(own, 'dynasplit/v1/results/cam-1')).toBe(1);
    for (const filter of ['dynasplit/v1/results/cam-1', 'dynasplit/v1/results/+', '#', '$share/x/dynasplit/v1/results/cam-1']) {
      expect(await granted(other, filter), filter).toBe(128);
    }
    const edge = await as('edge-1');
    await edge.publishAsync('dynasplit/v1/results/cam-1', 'result', { qos: 1 });
    await waitFor(() => ownGot.length === 1, () => 'the result');
    // cam-2's own result, sent after cam-1's by the same edge: cam-1's would have come first.
    expect(await granted(other, 'dynasplit/v1/results/cam-2')).toBe(1);
    await edge.publishAsync('dynasplit/v1/results/cam-2', 'marker', { qos: 1 });
    await waitFor(() => otherGot.length >= 1, () => 'cam-2\'s own result');
    expect(otherGot.map((m) => m.payload)).toEqual(['marker']);
    expect(logged('unauthorized SUBSCRIBE refused (granted 0x80)', { username: 'cam-2', topic: '#' })).toBe(true);
  });

  it('a forged policy from a sensor or an edge account never reaches an edge node; the optimizer\'s does', async () => {
    const topic = 'dynasplit/v1/policy/vgg16_onnx/rpi4';
    const edge = await as('edge-1');
    const got = collect(edge);
    await edge.subscribeAsync('dynasplit/v1/policy/+/+', { qos: 1 });
    for (const forger of ['cam-1', 'edge-2']) {
      const client = await as(forger);
      const gone = closed(client);
      client.publish(topic, `forged by ${forger}`, { qos: 1, retain: true }, () => {});
      await gone;
    }
    const optimizer = await as('opt');
    await optimizer.publishAsync(topic, 'policy v1', { qos: 1, retain: true });
    await waitFor(() => got.length >= 1, () => 'the policy');
    const late = await as('edge-2');
    const lateGot = collect(late);
    await late.subscribeAsync(topic, { qos: 1 });
    await waitFor(() => lateGot.length >= 1, () => 'the retained policy');
    expect(got.map((m) => m.payload)).toEqual(['policy v1']);
    expect(lateGot).toEqual([{ topic, payload: 'policy v1', retain: true }]);
    await optimizer.publishAsync(topic, '', { qos: 1, retain: true }); // clears the retained policy
  });

  it('shared subscriptions still split frames and tail requests; tail replies reach only their edge', async () => {
    const edges = [await as('edge-1'), await as('edge-2')];
    const frames = edges.map(collect);
    for (const e of edges) await e.subscribeAsync('$share/edge/dynasplit/v1/frames/+', { qos: 1 });
    const sensor = await as('cam-1');
    for (let i = 0; i < 20; i++) await sensor.publishAsync('dynasplit/v1/frames/cam-1', String(i), { qos: 1 });
    await waitFor(() => frames.flat().length === 20, () => `20 frames (got ${frames.flat().length})`);
    expect(frames.every((list) => list.length > 0)).toBe(true);

    const workers = [await as('cloud'), await as('cloud')];
    const requests = workers.map(collect);
    for (const w of workers) await w.subscribeAsync('$share/cloud/dynasplit/v1/tail/+', { qos: 1 });
    expect(await granted(edges[1]!, 'dynasplit/v1/tail-replies/edge-1')).toBe(128);
    await edges[0]!.subscribeAsync('dynasplit/v1/tail-replies/edge-1', { qos: 1 });
    for (let i = 0; i < 10; i++) await edges[0]!.publishAsync('dynasplit/v1/tail/m', String(i), { qos: 1 });
    await waitFor(() => requests.flat().length === 10, () => `10 tail requests (got ${requests.flat().length})`);
    expect(requests.every((list) => list.length > 0)).toBe(true);

    const before = [frames[0]!.length, frames[1]!.length];
    await workers[0]!.publishAsync('dynasplit/v1/tail-replies/edge-1', 'reply', { qos: 1 });
    await waitFor(() => frames[0]!.length === before[0]! + 1, () => 'the tail reply');
    // edge-2's own reply, sent after edge-1's by the same worker: edge-1's would have come first.
    await edges[1]!.subscribeAsync('dynasplit/v1/tail-replies/edge-2', { qos: 1 });
    await workers[0]!.publishAsync('dynasplit/v1/tail-replies/edge-2', 'marker', { qos: 1 });
    await waitFor(() => frames[1]!.length === before[1]! + 1, () => 'edge-2\'s own reply');
    expect(frames[1]!.slice(before[1]).map((m) => m.payload)).toEqual(['marker']);
    expect(broker.stats().shared.groups).toBeGreaterThanOrEqual(2);
  });

  it('power readings: a meter publishes (retained), edge and cloud read, a sensor may not', async () => {
    const plug = await as('plug');
    await plug.publishAsync('tele/plug-1/SENSOR', '{"ENERGY":{"Power":4.2}}', { qos: 0, retain: true });
    for (const reader of ['edge-1', 'cloud']) {
      const client = await as(reader);
      const got = collect(client);
      await client.subscribeAsync('tele/+/SENSOR');
      await waitFor(() => got.length === 1, () => `${reader} to read the power reading`);
    }
    const sensor = await as('cam-1');
    expect(await granted(sensor, 'tele/+/SENSOR')).toBe(128);
    await plug.publishAsync('tele/plug-1/SENSOR', '', { qos: 0, retain: true });
  });

  it('a cloud worker may read policies (to load their tails) but not frames, nor publish results', async () => {
    const worker = await as('cloud');
    expect(await granted(worker, 'dynasplit/v1/policy/vgg16/+')).toBe(1);
    expect(await granted(worker, '$share/edge/dynasplit/v1/frames/+')).toBe(128);
    const gone = closed(worker);
    worker.publish('dynasplit/v1/results/cam-1', 'forged', { qos: 1 }, () => {});
    await gone;
    expect(broker.stats().auth).toMatchObject({ publishesRefused: expect.any(Number), subscriptionsRefused: expect.any(Number) });
  });
});
