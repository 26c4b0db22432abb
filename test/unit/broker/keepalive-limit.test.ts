/** The broker's maxKeepaliveS: keepalive 0 and keepalives over it are refused at CONNECT, the rest served. */
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../../../broker/index.ts';
import { rootLogger } from '../../../common/index.ts';

let broker: BrokerHandle;
const lines: string[] = [];

beforeAll(async () => {
  const logger = rootLogger('info', { format: 'json', write: (line: string) => lines.push(line) });
  broker = await startBroker({ host: '127.0.0.1', port: 0, maxKeepaliveS: 30 }, { logger });
});
afterAll(async () => {
  await broker?.close();
});

const connect = (keepalive: number) => mqtt.connectAsync(broker.url, { keepalive, reconnectPeriod: 0, clientId: `ka-${keepalive}` });

it('refuses keepalive 0 and a keepalive over the limit with CONNACK 6, and says why in its log', async () => {
  for (const keepalive of [0, 31, 3600]) {
    await expect(connect(keepalive)).rejects.toMatchObject({ code: 6 });
  }
  // One line: the log's repeat filter folds the same refusal within its window.
  expect(lines.some((l) => l.includes("connection refused: its keepalive is 0 or over the broker's maxKeepaliveS"))).toBe(true);
});

it('serves a keepalive within the limit', async () => {
  for (const keepalive of [1, 30]) {
    const client = await connect(keepalive);
    await client.publishAsync('t', 'x', { qos: 1 });
    await client.endAsync();
  }
});
