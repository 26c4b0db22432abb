/**
 * An operator reads from a node's log when the broker went away and when it came back, for each of
 * the node's MQTT connections (connectMqtt's `logger`, common/mqtt.ts): an edge node and a cloud
 * worker as separate processes on the MQTT transport, the broker closed and started again on its port.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { freePort, spawnDynasplit, type Spawned } from '../../local-servers/index.ts';

const zoo = inject('zooDir');
const MODEL = 'vgg16-tiny';
const processes: Spawned[] = [];
let broker: BrokerHandle | undefined;

afterAll(async () => {
  for (const p of processes) await p.stop('SIGKILL');
  await broker?.close();
});

/** A JSON log line (the nodes log JSON lines when not on a terminal) with both fields. */
const line = (clientId: string, msg: string): RegExp => new RegExp(`^(?=.*"clientId":"${clientId}")(?=.*"msg":"${msg}).*$`, 'm');

describe('MQTT connection log', () => {
  it('every MQTT connection of an edge node and a cloud worker says when the broker is gone and when it is back', async () => {
    const port = await freePort();
    broker = await startBroker({ host: '127.0.0.1', port });
    const node = (role: 'cloud' | 'edge', id: string) => {
      const p = spawnDynasplit([role, '--id', id, '--mqtt', broker!.url, '--transport', 'mqtt', '--model', `${MODEL}=${join(zoo, `${MODEL}.onnx`)}`,
        '--threads', '1', '--log-level', 'info']);
      processes.push(p);
      return p;
    };
    const cloud = node('cloud', 'log-cloud');
    const edge = node('edge', 'log-edge');
    await Promise.all([cloud.waitFor(/cloud worker serving/), edge.waitFor(/edge node serving/)]);
    // Every connection up before the broker goes: the announcers and the worker's policy follower connect in the background.
    await vi.waitFor(() => expect(broker!.stats().clients).toBe(6), { timeout: 30_000, interval: 20 });

    await broker.close();
    broker = await startBroker({ host: '127.0.0.1', port });

    const connections: Array<[Spawned, string[]]> = [
      [edge, ['log-edge', 'log-edge-a', 'log-edge-t']], // frames and results, announcements, the tensor transport
      [cloud, ['log-cloud', 'log-cloud-a', 'log-cloud-p']], // the tensor transport, announcements, policies
    ];
    await Promise.all(connections.flatMap(([p, ids]) => ids.flatMap((id) => [
      p.waitFor(line(id, 'MQTT connection lost; reconnecting'), 30_000),
      p.waitFor(line(id, 'MQTT connection restored'), 30_000),
    ])));
  }, 90_000);
});
