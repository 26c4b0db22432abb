/**
 * An edge node SIGKILLed mid-run and started again on its state directory: every frame the broker
 * accepted gets an answer, one per request id (a result sent again after the restart is the same
 * bytes: the journal's), including the frames the node had acknowledged but not answered when it
 * died and those published while it was away (held by the broker for its persistent session).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { encodeTensor } from '../../codec/index.ts';
import { Result } from '../../schemas/index.ts';
import { inputs, resultSink, type ResultSink } from '../helpers/pipeline.ts';
import { spawnDynasplit, type Spawned } from '../../local-servers/index.ts';

const zoo = inject('zooDir');
const MODEL = 'vgg16-tiny';
const SENSOR = 'restart-sensor';
const FRAMES = 150;
let broker: BrokerHandle;
let cloud: CloudWorker;
let sink: ResultSink;
let stateDir: string;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'dynasplit-edge-state-'));
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  cloud = await startCloudWorker({ workerId: 'restart-cloud', mqttUrl: broker.url, models: { [MODEL]: join(zoo, `${MODEL}.onnx`) }, threads: 1 });
  sink = await resultSink(broker.url, [SENSOR]);
});

afterAll(async () => {
  await sink?.close();
  await cloud?.close();
  await broker?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

const edge = (): Spawned => spawnDynasplit(['edge', '--id', 'restart-edge', '--mqtt', broker.url, '--model', `${MODEL}=${join(zoo, `${MODEL}.onnx`)}`,
  '--threads', '1', '--state-dir', stateDir, '--log-level', 'info']);

describe('edge node restart', () => {
  it('SIGKILLed mid-run and restarted: every accepted frame answered, one answer per request id', async () => {
    let node = edge();
    await node.waitFor(/edge node serving/);
    const tensors = inputs([1, 3, 32, 32], 8);
    // Resolves on the broker's PUBACK: from here on the frame is accepted.
    const publish = (id: string, i: number) => sink.publishFrame(SENSOR, {
      request_id: id, model: MODEL, capture_at_ms: Date.now(), budget_ms: 120_000, tensor: encodeTensor({ name: 'input', shape: [1, 3, 32, 32], data: tensors[i % tensors.length] }, 'fp32'),
    });
    const accepted: string[] = [];
    const sending = (async () => {
      for (let i = 0; i < FRAMES; i++) {
        await publish(`r${i}`, i);
        accepted.push(`r${i}`);
        await new Promise((resolve) => setTimeout(resolve, 20)); // paced at ~50 frames/s, so the kill lands mid-run
      }
    })();
    await sink.waitFor(20); // the kill comes after 20 answers
    node.proc.kill('SIGKILL');
    await node.exited;
    const answeredBeforeRestart = sink.byId.size;
    node = edge();
    await node.waitFor(/edge node serving/);
    await sending;
    // Every request id answered (sink.waitFor would count a duplicate too).
    await vi.waitFor(() => expect(sink.byId.size, `edge output:\n${node.output().slice(-3000)}`).toBeGreaterThanOrEqual(FRAMES), { timeout: 30_000, interval: 10 });
    // A last frame, answered after every result the node had to send (its journal's replays come
    // first, and one MQTT client's messages on a topic arrive in order): a duplicate would be in by now.
    await publish('marker', 0);
    await vi.waitFor(() => expect(sink.byId.has('marker')).toBe(true), { timeout: 30_000, interval: 10 });
    await node.stop();

    expect(accepted).toHaveLength(FRAMES);
    expect(answeredBeforeRestart).toBeGreaterThan(0);
    expect(answeredBeforeRestart).toBeLessThan(FRAMES);
    const missing = accepted.filter((id) => !sink.byId.has(id));
    expect(missing, node.output()).toEqual([]);
    for (const [id, results] of sink.byId) {
      expect(results[0].error, `${id}: ${results[0].error?.message}`).toBeFalsy();
      const first = Buffer.from(Result.encode(results[0]).finish());
      for (const again of results.slice(1)) expect(Buffer.from(Result.encode(again).finish()).equals(first), id).toBe(true);
    }
    expect(node.output()).toMatch(/state recovered/);
  }, 120_000);
});
