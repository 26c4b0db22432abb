/**
 * A sensor's packets and publish rate bounded at the broker by its role (docs/security.md "Limits"),
 * through real processes: `dynasplit broker --users --role-max-packet-kb sensor=64
 * --role-publish-kb-per-s sensor=64`, a cloud worker and an edge node on their own logins. A sensor
 * whose frame is over its role's bound is disconnected (DYNASPLIT_ERR_PAYLOAD_TOO_LARGE, logged with
 * its account) as soon as the packet's header announces it, its frame never reaches the edge; a
 * packet announcing 10 MB is cut off at its header; a sensor publishing faster than its role's rate
 * is disconnected (DYNASPLIT_ERR_RATE_LIMITED) once past its burst. An unrelated sensor is served
 * throughout, and every frame the broker took is answered exactly once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { hashPassword } from '../../broker/index.ts';
import { Frame, Result, topics, type FrameProperties } from '../../schemas/index.ts';
import { freePort, spawnDynasplit, type Spawned } from '../../local-servers/index.ts';
import { frame, inputs } from '../helpers/pipeline.ts';
import { closedSocket, connectPacket, PacketReader, rawSocket, remainingLength, utf8 } from '../helpers/raw-mqtt.ts';

const zoo = inject('zooDir');
const MODEL = 'vgg16-tiny';
const SHAPE = [1, 3, 32, 32];
const [x] = inputs(SHAPE, 1, 19);
const BOUND_KB = 64;
/** KiB/s a sensor may publish; its burst is 2 s of it (128 KiB: about ten 12 KB frames). */
const RATE_KB = 64;
const dir = mkdtempSync(join(tmpdir(), 'dynasplit-hostile-packets-'));
const spawned: Spawned[] = [];
const clients: MqttClient[] = [];
let port: number;
let broker: Spawned;
let n = 0;

const credentials = (username: string) => ({ username, password: `${username}-pw` });
const urlOf = (username: string) => `mqtt://${username}:${username}-pw@127.0.0.1:${port}`;

beforeAll(async () => {
  const account = async (username: string, role: string) => ({ username, role, passwordHash: await hashPassword(`${username}-pw`, { N: 1024, r: 8, p: 1 }) });
  writeFileSync(join(dir, 'users.json'), JSON.stringify({ users: [
    await account('cam-big', 'sensor'), await account('cam-ok', 'sensor'), await account('cam-fast', 'sensor'),
    await account('edge-p', 'edge'), await account('cloud-p', 'cloud'),
  ] }));
  port = await freePort();
  broker = spawnDynasplit(['broker', '--host', '127.0.0.1', '--port', String(port), '--users', join(dir, 'users.json'),
    '--role-max-packet-kb', `sensor=${BOUND_KB}`, '--role-publish-kb-per-s', `sensor=${RATE_KB}`, '--log-level', 'info']);
  spawned.push(broker);
  await broker.waitFor(new RegExp(`mqtt://127.0.0.1:${port}`));
  const model = `${MODEL}=${join(zoo, `${MODEL}.onnx`)}`;
  const cloud = spawnDynasplit(['cloud', '--id', 'cloud-p', '--mqtt', urlOf('cloud-p'), '--model', model, '--threads', '1', '--log-level', 'info']);
  const edge = spawnDynasplit(['edge', '--id', 'edge-p', '--mqtt', urlOf('edge-p'), '--model', model, '--threads', '1', '--log-level', 'info']);
  spawned.push(cloud, edge);
  await Promise.all([cloud.waitFor(/cloud worker serving/, 60_000), edge.waitFor(/edge node serving/, 60_000)]);
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.endAsync(true)));
  for (const proc of spawned.reverse()) await proc.stop('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

/** A sensor on its own login, collecting its results by request id; it does not reconnect. */
async function sensor(username: string): Promise<{ client: MqttClient; answers: Map<string, Result[]>; closed: Promise<void> }> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    ...credentials(username), clientId: `${username}-${n++}`, protocolVersion: 4, reconnectPeriod: 0,
  });
  clients.push(client);
  const answers = new Map<string, Result[]>();
  client.on('message', (_topic, payload) => {
    const result = Result.decode(payload);
    answers.set(result.request_id, [...(answers.get(result.request_id) ?? []), result]);
  });
  client.on('error', () => undefined);
  await client.subscribeAsync(topics.results(username), { qos: 1 });
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  return { client, answers, closed };
}

/**
 * Connections the broker's log says it closed for a packet over an account's bound: each logged
 * line, plus the count in the summary the logger writes for repeats within its window (10 s).
 */
function accountRefusalsLogged(): number {
  let count = 0;
  for (const line of broker.output().split('\n')) {
    if (!line.includes('DYNASPLIT_ERR_PAYLOAD_TOO_LARGE')) continue;
    const repeated = /"repeated":(\d+)/.exec(line);
    if (repeated) count += Number(repeated[1]);
    else if (/for account '[^']+' \(role sensor; broker option maxPacketBytesByRole/.test(line)) count += 1;
  }
  return count;
}

const encode = (props: FrameProperties) => Buffer.from(Frame.encode(Frame.create(props)).finish());

/** Publishes `props` at QoS 1 and waits for its one answer, a prediction. */
async function servedOnce(s: Awaited<ReturnType<typeof sensor>>, username: string, id: string): Promise<void> {
  await s.client.publishAsync(topics.frames(username), encode(frame(id, username, MODEL, SHAPE, x, 30_000)), { qos: 1 });
  await vi.waitFor(() => expect(s.answers.has(id)).toBe(true), { timeout: 30_000, interval: 20 });
  const [result] = s.answers.get(id)!;
  expect(result.error, result.error?.message ?? '').toBeFalsy();
  expect(result.top_k.length).toBeGreaterThan(0);
}

describe('a sensor\'s packets bounded by its role at the broker', () => {
  it('disconnects a sensor over the bound with PAYLOAD_TOO_LARGE; another sensor is served; every frame taken is answered once', async () => {
    const [big, ok] = [await sensor('cam-big'), await sensor('cam-ok')];
    // Under the bound: a frame of ~12 KB is taken and answered.
    await servedOnce(big, 'cam-big', 'big-legal');
    await servedOnce(ok, 'cam-ok', 'ok-before');

    // A 100 KiB model name makes a frame (and its PUBLISH) over 64 KiB: the broker closes the
    // connection at the header; no PUBACK comes, and the frame never reaches the edge.
    let acknowledged = false;
    big.client.publish(topics.frames('cam-big'), encode({ ...frame('big-oversized', 'cam-big', MODEL, SHAPE, x, 30_000), model: 'm'.repeat(100 * 1024) }),
      { qos: 1 }, (err) => { acknowledged = !err; });
    await big.closed;
    await broker.waitFor(/MQTT packet of \d+ bytes exceeds the limit of 65536 bytes for account 'cam-big' \(role sensor; broker option maxPacketBytesByRole/);
    expect(broker.output()).toMatch(/"code":"DYNASPLIT_ERR_PAYLOAD_TOO_LARGE".*"msg":"packet over the limit; connection closed"/);
    expect(accountRefusalsLogged()).toBe(1);

    // Meanwhile and after, the other sensor is served; the legal frames were answered once each.
    await servedOnce(ok, 'cam-ok', 'ok-after');
    expect(acknowledged).toBe(false);
    expect(big.answers.has('big-oversized')).toBe(false);
    expect(big.answers.get('big-legal')).toHaveLength(1);
    expect(ok.answers.get('ok-before')).toHaveLength(1);
    expect(ok.answers.get('ok-after')).toHaveLength(1);
  }, 90_000);

  it('cuts a logged-in sensor off at the header of a packet announcing 10 MB, before its body is read', async () => {
    const socket = await rawSocket(port);
    socket.on('error', () => undefined);
    const closed = closedSocket(socket);
    const reader = new PacketReader();
    const connack = new Promise<number[]>((resolve) => socket.on('data', (chunk: Buffer) => {
      const [first] = reader.push(chunk);
      if (first) resolve([first.type, ...first.body]);
    }));
    socket.write(connectPacket('cam-big-raw', credentials('cam-big')));
    expect(await connack).toEqual([2, 0, 0]); // CONNACK, return code 0: logged in
    const announced = 10_000_000;
    const topic = utf8(topics.frames('cam-big'));
    socket.write(Buffer.concat([Buffer.from([0x32]), remainingLength(announced), topic, Buffer.from([0, 1])]));
    let sent = 0;
    let cut = false;
    void closed.then(() => { cut = true; });
    const chunk = Buffer.alloc(256 * 1024, 0x41);
    while (!cut && sent < announced - chunk.length) {
      if (!socket.write(chunk)) await new Promise((resolve) => { socket.once('drain', resolve); void closed.then(resolve); });
      sent += chunk.length;
    }
    await closed;
    expect(sent, 'bytes written before the broker closed the connection').toBeLessThan(announced - chunk.length);
    // Logged as its own line, or counted in the logger's summary of repeats (within 10 s of the last).
    await vi.waitFor(() => expect(accountRefusalsLogged()).toBe(2), { timeout: 30_000, interval: 100 });
    const ok = await sensor('cam-ok');
    await servedOnce(ok, 'cam-ok', 'ok-after-raw');
  }, 60_000);

  it('disconnects a sensor publishing past its rate with RATE_LIMITED; what it had acknowledged is answered once; another sensor is served', async () => {
    // Results come to a second connection of the account, which stays: the publishing one is cut off.
    const [fast, results] = [await sensor('cam-fast'), await sensor('cam-fast')];
    const acknowledged: string[] = [];
    const frames = 40; // 40 x ~12.4 KB = ~500 KB at once: past the 128 KiB burst
    for (let i = 0; i < frames; i++) {
      const id = `fast-${i}`;
      fast.client.publish(topics.frames('cam-fast'), encode(frame(id, 'cam-fast', MODEL, SHAPE, x, 30_000)), { qos: 1 }, (err) => {
        if (!err) acknowledged.push(id);
      });
    }
    await fast.closed;
    await broker.waitFor(/"msg":"publish rate over the limit; connection closed"/);
    expect(broker.output()).toMatch(/account 'cam-fast' \(role sensor\) published more than 65536 bytes\/s \(burst 131072 bytes/);
    expect(acknowledged.length, 'frames the broker took').toBeGreaterThan(0);
    expect(acknowledged.length).toBeLessThan(frames);
    // Every frame the broker acknowledged is answered, once; the others were never taken.
    await vi.waitFor(() => expect(acknowledged.filter((id) => !results.answers.has(id))).toEqual([]), { timeout: 60_000, interval: 50 });
    for (const id of acknowledged) expect(results.answers.get(id), id).toHaveLength(1);
    for (const [id] of results.answers) expect(acknowledged).toContain(id);
    const ok = await sensor('cam-ok');
    await servedOnce(ok, 'cam-ok', 'ok-after-fast');
  }, 90_000);
});
