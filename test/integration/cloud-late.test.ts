/**
 * An edge node started while its cloud is unreachable (the NATS server, or the uplink to it, not up
 * yet), as its own process: it serves from the start, finishing split requests itself, and sends
 * them to the cloud once a NATS server and a worker are there (transport/connect-later.ts).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { freePort, spawnDynasplit, startNatsServer, type RunningServer, type Spawned } from '../../local-servers/index.ts';
import { configuration, encodePolicy } from '../../policy/index.ts';
import { topics } from '../../schemas/index.ts';
import { frame, inputs, resultSink, type ResultSink } from '../helpers/pipeline.ts';

const zoo = inject('zooDir');
const MODEL = 'vgg16-tiny';
const SENSOR = 'late-cloud-sensor';
const SHAPE = [1, 3, 32, 32];
const [x] = inputs(SHAPE, 1);
const processes: Spawned[] = [];
let broker: BrokerHandle | undefined;
let nats: RunningServer | undefined;
let sink: ResultSink | undefined;

afterAll(async () => {
  for (const p of processes) await p.stop('SIGKILL');
  await sink?.close();
  await broker?.close();
  await nats?.stop();
});

describe('an edge node started before its cloud', () => {
  it('finishes split requests itself until the NATS server and a worker are there, then sends them to the cloud', async () => {
    broker = await startBroker({ host: '127.0.0.1', port: 0 });
    const natsPort = await freePort();
    const natsUrl = `nats://127.0.0.1:${natsPort}`;
    const node = (role: 'cloud' | 'edge', id: string) => {
      const p = spawnDynasplit([role, '--id', id, '--mqtt', broker!.url, '--transport', 'nats', '--nats', natsUrl,
        '--model', `${MODEL}=${join(zoo, `${MODEL}.onnx`)}`, '--threads', '1', '--log-level', 'info']);
      processes.push(p);
      return p;
    };
    const edge = node('edge', 'late-edge');
    await edge.waitFor(/edge node serving/);
    await edge.waitFor(/cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+: serving without the cloud/);

    sink = await resultSink(broker.url, [SENSOR]);
    await sink.client.publishAsync(topics.policy(MODEL, 'default'), Buffer.from(encodePolicy({
      version: 1, model: MODEL, edge_class: 'default', rule: 'energy-first', entries: [{ configuration: configuration({ cut: 'features.pool3', codec: 'fp32' }) }],
    })), { qos: 1, retain: true });
    let sent = 0;
    const send = async (): Promise<NonNullable<ReturnType<ResultSink['byId']['get']>>[number]> => {
      const id = `late-${sent++}`;
      await sink!.publishFrame(SENSOR, frame(id, SENSOR, MODEL, SHAPE, x, 30_000));
      await sink!.waitFor(sent);
      return sink!.byId.get(id)![0]!;
    };
    // Until the policy is in place the edge runs its default; then every split request finishes on the edge.
    let result = await send();
    while (result.configuration?.cut !== 'features.pool3') result = await send();
    expect(result.error).toBeFalsy();
    expect(result.edge_fallback).toBe(true);

    nats = await startNatsServer({ port: natsPort });
    const cloud = node('cloud', 'late-cloud-worker');
    await Promise.all([cloud.waitFor(/cloud worker serving/), edge.waitFor(/connected to NATS at/, 30_000)]);
    result = await send();
    expect(result.error).toBeFalsy();
    expect(result.configuration?.cut).toBe('features.pool3');
    expect([result.edge_fallback, result.worker_id]).toEqual([false, 'late-cloud-worker']);
  }, 120_000);
});
