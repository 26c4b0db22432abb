/**
 * Stopping an edge node is bounded. A frame can wait its whole budget for a cloud worker that froze
 * (its connection open, nothing saying it is gone), and MQTT.js's end() waits without a bound for a
 * broker to acknowledge the last results, even a broker that has stopped. A durable edge (a separate
 * process, --state-dir) must stop on SIGTERM in both cases, exit 0 and say what it left.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, inject, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { spawnDynasplit, type Spawned } from '../../local-servers/index.ts';
import { configuration, encodePolicy } from '../../policy/index.ts';
import { topics } from '../../schemas/index.ts';
import { frame, inputs, resultSink, type ResultSink } from '../helpers/pipeline.ts';

const zoo = inject('zooDir');
const MODEL = 'vgg16-tiny';
const SENSOR = 'stop-sensor';
const SHAPE = [1, 3, 32, 32];
const [x] = inputs(SHAPE, 1);
let broker: BrokerHandle;
let cloud: Spawned;
let edge: Spawned;
let sink: ResultSink;
let stateDir: string;

const node = (role: 'cloud' | 'edge', extra: string[]) => spawnDynasplit([role, '--id', `stop-${role}`, '--mqtt', broker.url,
  '--model', `${MODEL}=${join(zoo, `${MODEL}.onnx`)}`, '--threads', '1', ...extra]);

beforeEach(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'dynasplit-edge-stop-'));
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  cloud = node('cloud', []);
  edge = node('edge', ['--state-dir', stateDir, '--close-grace-ms', '300', '--log-level', 'info']);
  await Promise.all([cloud.waitFor(/cloud worker serving/), edge.waitFor(/edge node serving/)]);
  sink = await resultSink(broker.url, [SENSOR]);
  // Every frame split at pool3, its tail on the worker; answered so until the worker freezes.
  await sink.client.publishAsync(topics.policy(MODEL, 'default'), Buffer.from(encodePolicy({
    version: 1, model: MODEL, edge_class: 'default', rule: 'energy-first', entries: [{ configuration: configuration({ cut: 'features.pool3', codec: 'fp32' }) }],
  })), { qos: 1, retain: true });
  for (let i = 0; ; i++) {
    await sink.publishFrame(SENSOR, frame(`warm-${i}`, SENSOR, MODEL, SHAPE, x, 30_000));
    await sink.waitFor(i + 1);
    const result = sink.byId.get(`warm-${i}`)![0];
    if (result.configuration?.cut === 'features.pool3' && !result.edge_fallback) break;
  }
  // A frozen worker: its connection stays open and nothing says it is gone.
  cloud.proc.kill('SIGSTOP');
  // Acknowledged (PUBACK): journaled and in progress on the edge, split, waiting up to its 10-minute
  // budget for a worker that does not answer.
  await sink.publishFrame(SENSOR, frame('stuck', SENSOR, MODEL, SHAPE, x, 600_000));
});

afterEach(async () => {
  edge?.proc.kill('SIGKILL');
  cloud?.proc.kill('SIGKILL');
  await sink?.close();
  await broker?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

it('a frame waiting for a frozen worker does not hold the stop past the grace; the node says it left it to the journal', async () => {
  // Without the bound, SIGTERM waits the frame's budget, past the test's timeout.
  expect(await edge.stop('SIGTERM')).toBe(0);
  expect(edge.output()).toMatch(/stopping with frames in progress: the journal runs them again at the next start/);
  expect(edge.output()).toMatch(/edge node closed/);
});

it('a result left unacknowledged by a broker that stopped first does not hold the stop', async () => {
  await sink.close();
  // The broker goes first (as a deployment's stop order may have it): the frame still waits for the
  // worker, or the edge has run the tail itself and published the result into a connection that is
  // gone, whose PUBACK MQTT.js's end() would wait for forever. Either way the stop must end.
  await broker.close();
  expect(await edge.stop('SIGTERM')).toBe(0);
  expect(edge.output()).toMatch(/edge node closed/);
});
