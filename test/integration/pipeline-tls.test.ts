/**
 * The pipeline on a locked-down broker: TLS only for the components, each logging in with its own
 * client certificate (role from the users file), so every ACL rule is in force end to end.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import { runSensor } from '../../sensor/index.ts';
import { createTestPki, type TestPki } from '../helpers/certs.ts';

const zoo = inject('zooDir');
const MODEL = 'vgg16-tiny';
const dir = mkdtempSync(join(tmpdir(), 'dynasplit-tls-pipeline-'));
let pki: TestPki;
let broker: BrokerHandle;
let cloud: CloudWorker;
let edge: EdgeNode;
const tlsFor = (cn: string) => ({ ca: pki.ca, cert: pki.client(cn).cert, key: pki.client(cn).key });

beforeAll(async () => {
  pki = createTestPki();
  writeFileSync(join(dir, 'users.json'), JSON.stringify({
    users: [
      { username: 'tls-sensor', certificateCn: 'tls-sensor.cert', role: 'sensor', id: 'tls-sensor' },
      { username: 'tls-edge', certificateCn: 'tls-edge.cert', role: 'edge', id: 'tls-edge' },
      { username: 'tls-cloud', certificateCn: 'tls-cloud.cert', role: 'cloud' },
    ],
  }));
  broker = await startBroker({
    host: '127.0.0.1', port: 0, tlsPort: 0, certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.caFile,
    usersFile: join(dir, 'users.json'),
  });
  const url = broker.tlsUrl!;
  const models = { [MODEL]: join(zoo, `${MODEL}.onnx`) };
  cloud = await startCloudWorker({ workerId: 'tls-cloud', mqttUrl: url, mqttTls: tlsFor('tls-cloud.cert'), models, threads: 1 });
  edge = await startEdgeNode({ edgeId: 'tls-edge', mqttUrl: url, mqttTls: tlsFor('tls-edge.cert'), models, threads: 1 });
});

afterAll(async () => {
  await edge?.close();
  await cloud?.close();
  await broker?.close();
  pki?.remove();
  rmSync(dir, { recursive: true, force: true });
});

it('sensor, edge node and cloud worker over TLS with client certificates: every frame answered, no ACL refusal', async () => {
  const summary = await runSensor({
    sensorId: 'tls-sensor', mqttUrl: broker.tlsUrl!, mqttTls: tlsFor('tls-sensor.cert'), model: MODEL, modelSource: join(zoo, `${MODEL}.onnx`),
    count: 30, rate: 100, budgets: 'fixed:5000',
  });
  expect(summary).toMatchObject({ requests: 30, results: 30, errors: 0, unanswered: 0 });
  expect(Object.keys(summary.configurations)).toHaveLength(3);
  expect(summary.workers).toHaveProperty('tls-cloud');
  expect(broker.stats().auth).toEqual({ loginsRefused: 0, publishesRefused: 0, subscriptionsRefused: 0, forwardsRefused: 0 });
});
