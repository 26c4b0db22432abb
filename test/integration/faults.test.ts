/**
 * Nothing lost under faults: every request the sensor sends gets exactly one answer while the NATS
 * server between edge and cloud is restarted mid-run (requests in flight then are completed on the
 * edge).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import { runSensor } from '../../sensor/index.ts';
import { startNatsServer, type RunningServer } from '../helpers/servers.ts';

const zoo = inject('zooDir');
const MODEL = 'vgg16-tiny';
const models = () => ({ [MODEL]: join(zoo, `${MODEL}.onnx`) });
let nats: RunningServer;
let broker: BrokerHandle;
let cloud: CloudWorker;
let edge: EdgeNode;

beforeAll(async () => {
  nats = await startNatsServer();
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  cloud = await startCloudWorker({ workerId: 'fault-cloud', transport: 'nats', natsUrl: nats.url, models: models(), threads: 1 });
  edge = await startEdgeNode({ edgeId: 'fault-edge', mqttUrl: broker.url, transport: 'nats', natsUrl: nats.url, models: models(), threads: 1 });
});

afterAll(async () => {
  await edge?.close();
  await cloud?.close();
  await broker?.close();
  await nats?.stop();
});

const sensor = (sensorId: string, count: number) => runSensor({
  sensorId, mqttUrl: broker.url, model: MODEL, modelSource: join(zoo, `${MODEL}.onnx`), count, rate: 50, budgets: 'fixed:1000', drainMs: 30_000,
});

describe('faults', () => {
  it('a NATS server restart mid-run: every request answered exactly once (by the cloud or on the edge)', async () => {
    const port = Number(new URL(nats.url).port);
    const run = sensor('fault-nats', 150);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await nats.stop();
    await new Promise((resolve) => setTimeout(resolve, 500));
    nats = await startNatsServer({ port });
    const summary = await run;
    expect(summary).toMatchObject({ requests: 150, results: 150, errors: 0, unanswered: 0, duplicateResults: 0 });
    expect(summary.edgeFallbacks).toBeGreaterThan(0);
  });
});
