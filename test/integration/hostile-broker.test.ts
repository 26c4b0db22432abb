/**
 * `dynasplit broker` as its own process against clients that misbehave on the wire
 * (docs/security.md "Limits"): a subscriber that stops reading its socket, a CONNECT that announces
 * 60 MB, a connection that never finishes its CONNECT. Each ends with an unrelated client served.
 */
import type { Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { spawnDynasplit, type Spawned } from '../../local-servers/index.ts';
import {
  closedSocket, connectPacket, rawSocket, readBytes, remainingLength, residentKb, subscribePacket,
} from '../helpers/raw-mqtt.ts';
import { freePort } from '../../local-servers/index.ts';

const MIB = 1024 * 1024;
let broker: Spawned;
let port: number;
let url: string;

beforeAll(async () => {
  port = await freePort();
  url = `mqtt://127.0.0.1:${port}`;
  // Packets up to 64 MiB (the default), queues up to 64 MiB; the drain timeout (120 s) is longer than
  // any test here, so what cuts the stuck subscriber off is the byte bound, and aedes' own 60 s
  // drain wait would fail the test.
  broker = spawnDynasplit(['broker', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'info',
    '--max-queue-mb', '64', '--drain-timeout-ms', '120000', '--connect-timeout-ms', '1500']);
  await broker.waitFor(new RegExp(`mqtt://127.0.0.1:${port}`));
});
afterAll(async () => {
  expect(await broker?.stop('SIGTERM')).toBe(0);
});

async function client(clientId: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { clientId, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000 });
  onTestFinished(() => c.endAsync(true));
  return c;
}

async function socket(): Promise<Socket> {
  const s = await rawSocket(port);
  s.on('error', () => {}); // EPIPE / ECONNRESET once the broker cuts it off
  onTestFinished(() => { s.destroy(); });
  return s;
}

/** One message from `from` to `to` on `topic`; resolves with its round trip in ms. */
async function exchange(from: MqttClient, to: MqttClient, topic: string, payload: string): Promise<number> {
  const started = performance.now();
  const arrived = new Promise<void>((resolve) => {
    const onMessage = (t: string, p: Buffer): void => {
      if (t !== topic || p.toString() !== payload) return;
      to.off('message', onMessage);
      resolve();
    };
    to.on('message', onMessage);
  });
  await from.publishAsync(topic, payload, { qos: 1 });
  await arrived;
  return performance.now() - started;
}

/** An unrelated client connects, subscribes and gets a message: the broker serves normally. */
async function expectServed(name: string): Promise<void> {
  const [a, b] = [await client(`${name}-a`), await client(`${name}-b`)];
  await b.subscribeAsync(`hostile/${name}`, { qos: 1 });
  await exchange(a, b, `hostile/${name}`, 'served');
}

describe('a subscriber that stops reading', () => {
  it('is disconnected at the queue bound; routing for everyone else never waits on it', async () => {
    const stuck = await socket();
    stuck.write(Buffer.concat([connectPacket('stuck-1'), subscribePacket('hostile/big', 0)]));
    expect([...(await readBytes(stuck, 4 + 5)).subarray(0, 4)]).toEqual([0x20, 2, 0, 0]); // CONNACK 0, then SUBACK
    // stuck is paused from here on: the broker's writes to it fill the kernel buffers, then its queue.
    const stuckClosed = closedSocket(stuck);

    const publisher = await client('big-publisher');
    const [ping, pong] = [await client('pair-a'), await client('pair-b')];
    await pong.subscribeAsync('hostile/ping', { qos: 1 });
    const big = Buffer.alloc(MIB, 0x61);
    const roundTrips: number[] = [];
    // aedes lets 100 messages be in flight (mqemitter concurrency); without the bound, messages to
    // the stuck subscriber would hold them all, and every later exchange would wait for its 60 s
    // drain timeout. 150 MiB published is also over twice the 64 MiB bound.
    for (let i = 0; i < 150; i++) {
      await publisher.publishAsync('hostile/big', big, { qos: 0 });
      roundTrips.push(await exchange(ping, pong, 'hostile/ping', String(i)));
    }
    await broker.waitFor(/slow consumer disconnected.*|"kind":"queue-full".*DYNASPLIT_ERR_OVERLOADED/);
    expect(broker.output()).toMatch(/"code":"DYNASPLIT_ERR_OVERLOADED".*"kind":"queue-full"/);
    stuck.resume(); // read what was sent, then see the broker's close
    await stuckClosed;
    expect(roundTrips).toHaveLength(150);
    console.info(`slow consumer: 150 exchanges beside it, slowest round trip ${Math.round(Math.max(...roundTrips))} ms`);
    await expectServed('after-stuck');
  }, 60_000);
});

describe('before login', () => {
  it('a CONNECT announcing 60 MB is cut off at its header: the broker does not hold it', async () => {
    const before = await residentKb(broker.proc.pid!);
    const huge = await socket();
    const closed = closedSocket(huge);
    let cut = false;
    void closed.then(() => { cut = true; });
    const announced = 60_000_000; // under --max-packet-mb, so only the pre-login bound refuses it
    huge.write(Buffer.concat([Buffer.from([0x10]), remainingLength(announced)]));
    let sent = 0;
    const chunk = Buffer.alloc(MIB, 0x41);
    // Write the body until the broker has closed the connection (or all of it has gone).
    while (!cut && sent < announced - MIB) {
      if (!huge.write(chunk)) await new Promise((resolve) => { huge.once('drain', resolve); void closed.then(resolve); });
      sent += chunk.length;
    }
    await closed;
    expect(sent, 'bytes written before the broker closed the connection').toBeLessThan(announced - MIB);
    await expectServed('after-huge-connect');
    const grown = (await residentKb(broker.proc.pid!)) - before;
    console.info(`60 MB CONNECT: ${sent} bytes written before the broker closed the connection; broker RSS grew by ${grown} kB`);
    expect(grown, 'kB the broker grew by').toBeLessThan(announced / 1024 / 4);
    await broker.waitFor(/before its CONNECT was accepted exceeds the broker's limit of 65536 bytes/);
  }, 60_000);

  it('a connection that stops half-way through its CONNECT is closed at the connect timeout', async () => {
    const slow = await socket();
    const connect = connectPacket('slowloris');
    slow.write(connect.subarray(0, connect.length - 3));
    await expectServed('beside-slowloris');
    await closedSocket(slow);
    await broker.waitFor(/no CONNECT within connectTimeoutMs/);
  }, 30_000);
});
