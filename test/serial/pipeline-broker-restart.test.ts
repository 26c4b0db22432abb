/**
 * The whole pipeline through a broker restart: `dynasplit broker --persistence DIR` as its own
 * process, SIGKILLed mid-stream and started again on its port and directory, with a durable edge
 * node (state directory), a cloud worker reached through the same broker, and a sensor on a
 * persistent session. Every frame the broker acknowledged gets its answer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import { spawnDynasplit, type Spawned } from '../../local-servers/index.ts';
import { freePort } from '../../local-servers/index.ts';
import { SoakSensor } from '../soak/sensor.ts';

const zoo = inject('zooDir');
const MODEL = 'vgg16-tiny';
const dir = mkdtempSync(join(tmpdir(), 'dynasplit-pipeline-restart-'));
const brokers: Spawned[] = [];
let cloud: CloudWorker | undefined;
let edge: EdgeNode | undefined;

afterAll(async () => {
  await edge?.close();
  await cloud?.close();
  for (const broker of brokers) await broker.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function broker(port: number): Promise<Spawned> {
  const proc = spawnDynasplit(['broker', '--host', '127.0.0.1', '--port', String(port), '--persistence', join(dir, 'broker'), '--log-level', 'warn']);
  brokers.push(proc);
  await proc.waitFor(new RegExp(`mqtt://127.0.0.1:${port}`));
  return proc;
}

describe('pipeline through a broker restart', () => {
  it('SIGKILLed broker restarted on its persistence directory: every accepted frame answered', async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const first = await broker(port);
    const models = { [MODEL]: join(zoo, `${MODEL}.onnx`) };
    cloud = await startCloudWorker({ workerId: 'restart-cloud', mqttUrl: url, models, threads: 1 });
    edge = await startEdgeNode({ edgeId: 'restart-edge', mqttUrl: url, models, threads: 1, stateDir: join(dir, 'edge') });
    const sensor = await SoakSensor.connect(url, 'restart-sensor', MODEL, [1, 3, 32, 32]);
    const sending = sensor.send(40, 5, 30_000);
    // The kill comes after 20 answers; the broker stays down while the sensor sends 20 more frames (or all it has).
    await vi.waitFor(() => expect(sensor.books().delivered).toBeGreaterThanOrEqual(20), { timeout: 30_000, interval: 10 });
    first.proc.kill('SIGKILL');
    await first.exited;
    const answeredAtKill = sensor.books().delivered;
    const sentAtKill = sensor.sent;
    await vi.waitFor(() => expect(sensor.sent).toBeGreaterThanOrEqual(Math.min(200, sentAtKill + 20)), { timeout: 30_000, interval: 10 });
    await broker(port);
    await sending;
    await vi.waitFor(() => expect(sensor.unanswered() + sensor.unacknowledged()).toBe(0), { timeout: 60_000, interval: 50 });

    const books = sensor.books();
    expect(answeredAtKill).toBeGreaterThan(0);
    expect(answeredAtKill).toBeLessThan(200);
    expect(sensor.unacknowledged()).toBe(0);
    expect(books.accepted).toBe(200);
    expect(books.delivered).toBe(books.accepted);
    // Budgets of 30 s outlive the restart: nothing expires, and frames in flight to the cloud at the kill fall back on the edge.
    expect(books.errorsByCode).toEqual({});
    await sensor.close(url);
  }, 120_000);
});
