/**
 * Nothing lost under faults: every request the sensor sends gets exactly one answer while the NATS
 * server between edge and cloud is restarted mid-run (requests in flight then are completed on the
 * edge).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import { runSensor } from '../../sensor/index.ts';
import { answerCounter } from '../helpers/progress.ts';
import { startNatsServer, type RunningServer } from '../../local-servers/index.ts';

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

const sensor = (sensorId: string, count: number, onProgress?: (sent: number, answered: number, total: number) => void) => runSensor({
  sensorId, mqttUrl: broker.url, model: MODEL, modelSource: join(zoo, `${MODEL}.onnx`), count, rate: 50, budgets: 'fixed:1000', drainMs: 30_000,
}, { onProgress });

describe('faults', () => {
  it('a NATS server restart mid-run: every request answered exactly once (by the cloud or on the edge)', async () => {
    const port = Number(new URL(nats.url).port);
    const answers = answerCounter();
    const run = sensor('fault-nats', 150, answers.onProgress);
    // The fault comes after 30 answers (a fifth of the run), whatever the machine's speed.
    await answers.after(30);
    const fallbacksBefore = edge.stats().fallbacks;
    await nats.stop();
    // NATS stays down until the edge has answered on its own at least once.
    await vi.waitFor(() => expect(edge.stats().fallbacks).toBeGreaterThan(fallbacksBefore), { timeout: 20_000, interval: 20 });
    nats = await startNatsServer({ port });
    const summary = await run;
    expect(summary).toMatchObject({ requests: 150, results: 150, errors: 0, unanswered: 0, duplicateResults: 0 });
    expect(summary.edgeFallbacks).toBeGreaterThan(0);
  });
});
