/**
 * `dynasplit broker --persistence DIR` as its own OS process, SIGKILLed while a sensor-like
 * publisher streams QoS 1 messages to a persistent-session member of a shared subscription, then
 * started again on the same port and directory: every message the broker acknowledged (PUBACK)
 * reaches the member, at least once (QoS 1 allows duplicates; they are counted).
 * The same run against an in-memory broker (no --persistence) loses the messages in between.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { spawnDynasplit, type Spawned } from '../../local-servers/index.ts';
import { freePort } from '../../local-servers/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'dynasplit-broker-restart-'));
const processes: Spawned[] = [];
const clients: MqttClient[] = [];

afterAll(async () => {
  await Promise.all(clients.map((client) => client.endAsync(true)));
  for (const p of processes) await p.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function startBroker(port: number): Promise<Spawned> {
  const broker = spawnDynasplit(['broker', '--host', '127.0.0.1', '--port', String(port), '--persistence', join(dir, 'sessions'),
    '--log-level', 'warn']);
  processes.push(broker);
  await broker.waitFor(new RegExp(`mqtt://127.0.0.1:${port}`));
  return broker;
}

/** An mqtt.js client that reconnects by itself every 100 ms, as the components' clients do. */
async function connect(url: string, options: mqtt.IClientOptions): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 100, connectTimeout: 5_000, ...options });
  client.on('error', () => {}); // connection refused while the broker is down: reconnectPeriod retries
  clients.push(client);
  return client;
}

describe('standalone broker restart with --persistence', () => {
  it('SIGKILL mid-stream and a restart on the same port and directory lose no acknowledged QoS 1 message', async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    let broker = await startBroker(port);
    const base = `test/restart/${process.pid}`;
    const total = 400;

    const received = new Map<number, number>(); // payload -> copies received
    const member = await connect(url, { clientId: `edge-restart-${process.pid}`, clean: false });
    member.on('message', (_topic, payload) => {
      const n = Number(payload.toString());
      received.set(n, (received.get(n) ?? 0) + 1);
    });
    // A member slower than the sensor (8 ms per message, PUBACK after it): at the kill the broker
    // holds acknowledged messages that the member has not had yet, or not acknowledged yet.
    member.handleMessage = (_packet, callback) => { setTimeout(() => callback(), 8); };
    await member.subscribeAsync(`$share/edge/${base}/+`, { qos: 1 });

    const publisher = await connect(url, { clientId: `sensor-restart-${process.pid}`, clean: true });
    const acked = new Set<number>();
    const publishing = (async () => {
      for (let i = 0; i < total; i++) {
        // mqtt.js keeps an unacknowledged QoS 1 PUBLISH and sends it again after reconnecting.
        publisher.publish(`${base}/cam-${i % 4}`, String(i), { qos: 1 }, (err) => { if (!err) acked.add(i); });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    await vi.waitFor(() => expect(received.size, '80 messages before the kill').toBeGreaterThanOrEqual(80), { timeout: 30_000, interval: 20 });
    broker.proc.kill('SIGKILL');
    expect(await broker.exited).toBeNull();
    const ackedAtKill = acked.size;
    expect(ackedAtKill).toBeGreaterThan(received.size);
    expect(ackedAtKill).toBeLessThan(total);

    broker = await startBroker(port);
    await publishing;
    await vi.waitFor(() => expect(acked.size, 'every message acknowledged').toBe(total), { timeout: 60_000, interval: 20 });
    const missing = () => [...acked].filter((n) => !received.has(n));
    await vi.waitFor(() => expect(missing(), 'every acknowledged message delivered').toEqual([]), { timeout: 60_000, interval: 20 });

    const duplicates = [...received.values()].reduce((sum, copies) => sum + copies - 1, 0);
    expect(missing(), `acknowledged at the kill ${ackedAtKill}, duplicates ${duplicates}`).toEqual([]);
    expect(received.size).toBe(total);
    expect(duplicates).toBeLessThan(total);
    expect(await broker.stop('SIGTERM')).toBe(0);
  }, 120_000);
});
