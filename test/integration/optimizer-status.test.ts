/**
 * What the optimizer tells an operator who watches its retained status and its log: why a round
 * failed (a metrics store out of reach) instead of a status that only stops moving, that it plans
 * from modelled figures when the store holds no requests, and nothing once it has stopped.
 */
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, inject, it, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { freePort } from '../../local-servers/index.ts';
import { createMetricsStore } from '../../metrics/index.ts';
import { startOptimizer } from '../../optimizer/index.ts';
import { MQTT_PREFIX, OptimizerStatus } from '../../schemas/index.ts';

const models = { 'vgg16-tiny': join(inject('zooDir'), 'vgg16-tiny.onnx') };
let broker: BrokerHandle;
let watcher: MqttClient;
/** Every message on the optimizer-status topics, by optimizer id: undefined for an empty (cleared) one. */
const statuses: Array<[string, OptimizerStatus | undefined]> = [];

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  watcher = await connectAsync(broker.url, { protocolVersion: 4 });
  watcher.on('message', (topic, payload) => statuses.push([topic.split('/').at(-1)!, payload.length ? OptimizerStatus.decode(payload) : undefined]));
  await watcher.subscribeAsync(`${MQTT_PREFIX}/optimizer-status/+`, { qos: 1 });
});

afterAll(async () => {
  await watcher?.endAsync();
  await broker?.close();
});

const profiles = { edgeProfile: 'rpi4', cloudProfile: 'gpu-server', intervalMs: 100 };

it('a round that fails says why in the status; a stopped optimizer clears its status', async () => {
  // An InfluxDB that is not there: every read fails, retryably.
  const metrics = createMetricsStore('influxdb', { url: `http://127.0.0.1:${await freePort()}`, api: 'v1', database: 'd', closeTimeoutMs: 100 });
  const optimizer = await startOptimizer({ mqttUrl: broker.url, models, optimizerId: 'blind', ...profiles }, { metrics });
  try {
    await vi.waitFor(() => expect(statuses.find(([id, s]) => id === 'blind' && /^round \d+ failed: DYNASPLIT_ERR_TRANSPORT InfluxDB query failed/.test(s?.waiting ?? ''))).toBeDefined(), { timeout: 10_000 });
  } finally {
    await optimizer.close();
    await metrics.close();
  }
  // Its retained status is cleared, not left looking alive.
  await vi.waitFor(() => expect(statuses.at(-1)).toEqual(['blind', undefined]));
});

it('says so when the store holds no request of the model and class: its figures are modelled', async () => {
  const lines: Array<{ msg: string; model?: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
  const metrics = createMetricsStore('embedded');
  const optimizer = await startOptimizer({ mqttUrl: broker.url, models, optimizerId: 'no-data', ...profiles }, { metrics, logger });
  try {
    await vi.waitFor(() => expect(lines.filter((l) => /^no request metrics in the store for this model and class/.test(l.msg))).toEqual([
      expect.objectContaining({ model: 'vgg16-tiny' }),
    ]), { timeout: 10_000 });
    // Once, not every round.
    const rounds = optimizer.status().round ?? 0;
    await vi.waitFor(() => expect(optimizer.status().round).toBeGreaterThan(rounds + 2));
    expect(lines.filter((l) => /^no request metrics/.test(l.msg))).toHaveLength(1);
  } finally {
    await optimizer.close();
  }
});
