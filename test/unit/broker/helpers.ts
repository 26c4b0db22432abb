/**
 * Test helpers for the broker: a broker per test file on 127.0.0.1:0, real mqtt.js clients that are
 * always ended, a collector of received messages, and a deadline poll instead of sleeps.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startBroker, type BrokerHandle, type BrokerOptions } from '../../../broker/index.ts';

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

/** Starts a broker before the file's tests and closes it after them; clients end after each test. */
export function useBroker(options: Partial<BrokerOptions> = {}): { broker: () => BrokerHandle; clients: Clients } {
  let handle: BrokerHandle | undefined;
  const clients = new Clients();
  beforeAll(async () => {
    handle = await startBroker({ host: '127.0.0.1', port: 0, ...options });
  });
  afterEach(() => clients.endAll());
  afterAll(async () => {
    await clients.endAll();
    await handle?.close();
  });
  return { broker: () => handle!, clients };
}

export class Clients {
  readonly #open = new Set<MqttClient>();

  /** A connected mqtt.js client (MQTT 3.1.1 unless options say otherwise) that never reconnects. */
  async connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 10_000, ...options });
    this.#open.add(client);
    return client;
  }

  /**
   * `connect` with `collect` attached before CONNACK: a resumed session's queued messages can
   * arrive in the same read as the CONNACK, before a listener added after `connect` resolves.
   */
  async connectCollecting(url: string, options: IClientOptions = {}): Promise<{ client: MqttClient; got: Received[] }> {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 10_000, ...options });
    this.#open.add(client);
    const got = collect(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    return { client, got };
  }

  async endAll(): Promise<void> {
    const open = [...this.#open];
    this.#open.clear();
    await Promise.all(open.map((client) => client.endAsync(true)));
  }
}

/** Records every message a client receives, in order. */
export function collect(client: MqttClient): Received[] {
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), retain: packet.retain }));
  return received;
}

/** Resolves once `check()` holds; fails with `what` and the last state after the deadline. */
export async function waitFor(check: () => boolean, what: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A topic prefix no other test uses. */
export function uniqueTopic(name: string): string {
  return `test/${name}/${randomUUID().slice(0, 8)}`;
}

/** Resolves when the client's connection closes (the broker went away or cut it off). */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected) return resolve();
    client.once('close', () => resolve());
  });
}
