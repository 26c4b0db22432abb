/**
 * Client ids belong to accounts, on `dynasplit broker --users --persistence` as its own process
 * (docs/security.md "Client ids"): a sensor's valid login cannot connect as an edge node's client
 * id, neither while the edge is connected (which stays connected) nor, after a restart, to inherit
 * the edge's stored session; and the owner of a stored session is remembered across the restart.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashPassword } from '../../broker/index.ts';
import { spawnDynasplit, type Spawned } from '../../local-servers/index.ts';
import { freePort } from '../../local-servers/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'dynasplit-hostile-ids-'));
const FRAMES = 'dynasplit/v1/frames';
const clients: MqttClient[] = [];
let port: number;
let url: string;
let broker: Spawned | undefined;

beforeAll(async () => {
  const account = async (username: string, role: string, id?: string) => ({
    username, role, passwordHash: await hashPassword(`${username}-pw`, { N: 1024, r: 8, p: 1 }), ...(id ? { id } : {}),
  });
  writeFileSync(join(dir, 'users.json'), JSON.stringify({ users: [
    await account('edge-1', 'edge'), await account('cam-1', 'sensor'), await account('cam-2', 'sensor'),
    await account('cam-3a', 'sensor', 'cam-3'), await account('cam-3b', 'sensor', 'cam-3'),
  ] }));
  port = await freePort();
  url = `mqtt://127.0.0.1:${port}`;
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.endAsync(true)));
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function startBroker(): Promise<void> {
  broker = spawnDynasplit(['broker', '--host', '127.0.0.1', '--port', String(port), '--users', join(dir, 'users.json'),
    '--persistence', join(dir, 'sessions'), '--log-level', 'info']);
  await broker.waitFor(new RegExp(`mqtt://127.0.0.1:${port}`));
}

/** A logged-in mqtt.js client; `got` collects what it receives from the CONNACK on. */
async function login(username: string, clientId: string, options: IClientOptions = {}): Promise<{ client: MqttClient; got: string[] }> {
  const client = mqtt.connect(url, { username, password: `${username}-pw`, clientId, protocolVersion: 4, reconnectPeriod: 0, ...options });
  const got: string[] = [];
  client.on('message', (_topic, payload) => got.push(payload.toString()));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  clients.push(client);
  return { client, got };
}

/** The CONNACK return code of a refused login (mqtt.js rejects with it as `code`). */
async function refusal(username: string, clientId: string, clean: boolean): Promise<number | undefined> {
  const err = await login(username, clientId, { clean }).then(() => undefined, (e: unknown) => e);
  return (err as { code?: number } | undefined)?.code;
}

describe('client ids belong to accounts', () => {
  it('a sensor cannot take an edge\'s id, live or after a restart; the edge keeps its session and queued frames', async () => {
    await startBroker();
    const edge = await login('edge-1', 'edge-1', { clean: false });
    await edge.client.subscribeAsync(`$share/edge/${FRAMES}/+`, { qos: 1 });
    for (const clean of [true, false]) expect(await refusal('cam-1', 'edge-1', clean), `clean ${clean}`).toBe(5);
    expect(await refusal('cam-1', 'edge-1-t', true)).toBe(5);
    await broker!.waitFor(/"clientId":"edge-1".*"returnCode":5.*"reason":"client id 'edge-1' belongs to account 'edge-1'"/);

    // The edge stayed connected: a frame reaches it.
    const sensor = await login('cam-1', 'cam-1-a');
    await sensor.client.publishAsync(`${FRAMES}/cam-1`, 'live', { qos: 1 });
    await vi.waitFor(() => expect(edge.got).toEqual(['live']));
    expect(edge.client.connected).toBe(true);

    // The edge goes; frames queue in its stored session; the broker restarts.
    await edge.client.endAsync();
    for (const frame of ['queued-1', 'queued-2']) await sensor.client.publishAsync(`${FRAMES}/cam-1`, frame, { qos: 1 });
    const held = await login('cam-3a', 'cam-3-x', { clean: false });
    await held.client.endAsync();
    await sensor.client.endAsync();
    expect(await broker!.stop('SIGTERM')).toBe(0);
    await startBroker();

    for (const clean of [true, false]) expect(await refusal('cam-1', 'edge-1', clean), `clean ${clean}`).toBe(5);
    // Same sensor id, another account: the stored session of cam-3-x is still cam-3a's.
    expect(await refusal('cam-3b', 'cam-3-x', false)).toBe(2);

    const back = await login('edge-1', 'edge-1', { clean: false });
    expect(back.client.connected).toBe(true);
    await vi.waitFor(() => expect(back.got).toEqual(['queued-1', 'queued-2']));

    // An unrelated sensor is served as usual.
    const other = await login('cam-2', 'cam-2-a');
    await other.client.publishAsync(`${FRAMES}/cam-2`, 'unrelated', { qos: 1 });
    await vi.waitFor(() => expect(back.got).toContain('unrelated'));
  }, 60_000);
});
