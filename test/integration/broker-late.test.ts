/**
 * A cloud worker on NATS started before its MQTT broker (systemd or compose bringing both up at
 * once), as its own process: it serves at once, says once that it is not announced, and once the
 * broker is there it announces itself and follows the policies (common/mqtt-background.ts).
 */
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { freePort, spawnDynasplit, startNatsServer, type RunningServer, type Spawned } from '../../local-servers/index.ts';
import { configuration, encodePolicy } from '../../policy/index.ts';
import { NodeAnnouncement, topics } from '../../schemas/index.ts';

const zoo = inject('zooDir');
const MODEL = 'vgg16-tiny';
let nats: RunningServer | undefined;
let broker: BrokerHandle | undefined;
let worker: Spawned | undefined;
let client: MqttClient | undefined;

afterAll(async () => {
  await worker?.stop('SIGKILL');
  await client?.endAsync(true);
  await broker?.close();
  await nats?.stop();
});

describe('a worker started before its MQTT broker', () => {
  it('serves at once, and announces itself and follows policies once the broker is there', async () => {
    nats = await startNatsServer();
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    worker = spawnDynasplit(['cloud', '--id', 'late-cloud', '--transport', 'nats', '--nats', nats.url, '--mqtt', url,
      '--model', `${MODEL}=${join(zoo, `${MODEL}.onnx`)}`, '--threads', '1', '--log-level', 'info']);
    await worker.waitFor(/cloud worker serving/);
    await worker.waitFor(/node not announced[^\n]*trying again until the broker is there/);
    await worker.waitFor(/policies not followed[^\n]*trying again until the broker is there/);

    broker = await startBroker({ host: '127.0.0.1', port });
    client = await mqtt.connectAsync(url, { clientId: 'late-observer', protocolVersion: 4 });
    const announced: NodeAnnouncement[] = [];
    client.on('message', (_topic, payload) => { if (payload.length > 0) announced.push(NodeAnnouncement.decode(payload)); });
    await client.subscribeAsync(topics.announcement('cloud', 'late-cloud'), { qos: 1 });
    await vi.waitFor(() => expect(announced.map((a) => a.state)).toContain(NodeAnnouncement.State.UP), { timeout: 30_000, interval: 50 });
    expect(announced[0]!.models.map((m) => m.name)).toEqual([MODEL]);

    // The policy follower subscribes once connected: a retained policy reaches it and its tails load.
    await vi.waitFor(() => expect(broker!.stats().clients).toBe(3), { timeout: 30_000, interval: 20 }); // announcer, policies, observer
    await client.publishAsync(topics.policy(MODEL, 'default'), Buffer.from(encodePolicy({
      version: 1, model: MODEL, edge_class: 'default', rule: 'energy-first', entries: [{ configuration: configuration({ cut: 'features.pool3', codec: 'fp32' }) }],
    })), { qos: 1, retain: true });
    await worker.waitFor(/tails of a policy loaded/, 30_000);
  }, 90_000);
});
