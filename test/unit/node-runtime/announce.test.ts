/** A node's announcement and status against an in-process aedes broker: retained, up, its status, gone on close. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../../broker/index.ts';
import { connectMqtt, silentLogger, type MqttClient } from '../../../common/index.ts';
import { loadProfile } from '../../../hardware/index.ts';
import { startAnnouncer } from '../../../node-runtime/index.ts';
import { dynasplit, NodeAnnouncement, NodeStatus, topics } from '../../../schemas/index.ts';

const unique = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;
let broker: BrokerHandle;
let watcher: MqttClient;
const seen = new Map<string, Buffer>();

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  watcher = await connectMqtt(broker.url, { clientId: unique('watcher') });
  watcher.on('message', (topic, payload) => seen.set(topic, payload));
  await watcher.subscribeAsync([topics.announcementsAll(), topics.nodeStatusAll()], { qos: 1 });
});
afterAll(async () => {
  await watcher?.endAsync();
  await broker?.close();
});

describe('startAnnouncer', () => {
  it('announces the node retained, publishes its status, and marks it gone on close', async () => {
    const nodeId = unique('edge');
    const profile = loadProfile('rpi4');
    const announcer = startAnnouncer({
      mqttUrl: broker.url, role: 'edge', nodeId, nodeClass: 'pi', profile, models: [{ name: 'm', cuts: ['input', 'c1', 'output'] }], energySource: 'modelled',
    }, silentLogger());
    const topic = topics.announcement('edge', nodeId);
    const { STARTING, UP } = dynasplit.v1.NodeAnnouncement.State;
    await vi.waitFor(() => expect(seen.has(topic)).toBe(true));
    // Announced from its start, but not taking work until it says it serves.
    expect(NodeAnnouncement.decode(seen.get(topic)!)).toMatchObject({ node_id: nodeId, state: STARTING });
    announcer.serving();
    await vi.waitFor(() => expect(NodeAnnouncement.decode(seen.get(topic)!).state).toBe(UP));
    const up = NodeAnnouncement.decode(seen.get(topic)!);
    expect(up).toMatchObject({ node_id: nodeId, role: 'edge', node_class: 'pi', state: UP, energy_source: 'modelled' });
    expect(JSON.parse(up.profile_json)).toEqual(profile);
    expect(up.models.map((m) => [m.name, m.cuts])).toEqual([['m', ['input', 'c1', 'output']]]);
    expect(up.software_version).toMatch(/^\d+\.\d+\.\d+/);
    // Retained: a subscriber that comes later reads it at once.
    const late = await connectMqtt(broker.url, { clientId: unique('late') });
    const retained = new Promise<Buffer>((resolve) => late.on('message', (_t, payload) => resolve(payload)));
    await late.subscribeAsync(topic, { qos: 1 });
    expect(NodeAnnouncement.decode(await retained).node_id).toBe(nodeId);
    await late.endAsync();

    announcer.publishStatus({ policies: [{ model: 'm', applied_version: 3 }], refusals: 0 });
    const statusTopic = topics.nodeStatus(nodeId);
    await vi.waitFor(() => expect(seen.has(statusTopic)).toBe(true));
    expect(NodeStatus.decode(seen.get(statusTopic)!)).toMatchObject({ node_id: nodeId, node_class: 'pi', policies: [{ model: 'm', applied_version: 3 }] });

    await announcer.close();
    await vi.waitFor(() => expect(NodeAnnouncement.decode(seen.get(topic)!).state).toBe(dynasplit.v1.NodeAnnouncement.State.GONE));
    await vi.waitFor(() => expect(seen.get(statusTopic)!.length).toBe(0));
    await announcer.close(); // idempotent
  });

  it('is marked gone by its last will when its connection dies, and announces itself again when it is back', async () => {
    const nodeId = unique('cloud');
    const announcer = startAnnouncer({
      mqttUrl: broker.url, role: 'cloud', nodeId, nodeClass: 'cloud', profile: loadProfile('gpu-server'), models: [{ name: 'm', cuts: ['input', 'output'] }], energySource: 'modelled',
    }, silentLogger());
    // Serving before its connection is made: its first announcement is UP, and so is every one after a reconnection.
    announcer.serving();
    const topic = topics.announcement('cloud', nodeId);
    const states: number[] = [];
    watcher.on('message', (t, payload) => {
      if (t === topic && payload.length > 0) states.push(NodeAnnouncement.decode(payload).state);
    });
    const { UP, GONE } = dynasplit.v1.NodeAnnouncement.State;
    await vi.waitFor(() => expect(states).toEqual([UP]));
    // The connection dies without a DISCONNECT: the broker publishes the will (MQTT 3.1.1 §3.1.2.5).
    const client = (broker.aedes as unknown as { clients: Record<string, { conn: { destroy(): void } }> }).clients[`${nodeId}-a`]!;
    client.conn.destroy();
    await vi.waitFor(() => expect(states.slice(0, 2)).toEqual([UP, GONE]));
    // mqtt.js reconnects, and the node says it is up again.
    await vi.waitFor(() => expect(states.slice(0, 3)).toEqual([UP, GONE, UP]), { timeout: 10_000 });
    await announcer.close();
    await vi.waitFor(() => expect(states.at(-1)).toBe(GONE));
  });

  it('serves on without a broker: the announcement is not a condition for running', async () => {
    const announcer = startAnnouncer({
      mqttUrl: 'mqtt://127.0.0.1:1', role: 'cloud', nodeId: unique('w'), nodeClass: 'cloud', profile: loadProfile('gpu-server'), models: [], energySource: '',
    }, silentLogger());
    announcer.publishStatus({ refusals: 0 });
    await announcer.close();
  });
});
