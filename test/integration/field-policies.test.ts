/**
 * The field path's policies, on a real aedes broker: an edge node and a cloud worker running as this
 * host (`--profile host`) announce themselves, and an optimizer given no device profile builds its
 * space from their announcements, so every entry of its policy runs on the host and no request fails
 * because of it. A policy the node cannot run (a frequency that is no step of its clock, a cut it
 * does not have, an accelerator it lacks) is refused whole: the previous policy keeps serving, and
 * the refusal shows in the optimizer's status. Two edge classes on one broker (this host, and an
 * emulated rpi4) each get a policy they can run, and a configuration whose requests fall back leaves
 * the front until it succeeds again.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import { processHost, type DeviceProfile } from '../../hardware/index.ts';
import { createMetricsStore, type MetricsStore } from '../../metrics/index.ts';
import { startOptimizer, type LiveOptimizer } from '../../optimizer/index.ts';
import { configuration, encodePolicy, type Configuration } from '../../policy/index.ts';
import { Frame, topics, type ConfigurationProperties, type PolicyProperties } from '../../schemas/index.ts';
import { frame, inputs, resultSink, type ResultSink } from '../helpers/pipeline.ts';

const MODEL = 'vgg16-tiny';
const SHAPE = [1, 3, 32, 32];
const zoo = inject('zooDir');
const unique = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;
const SENSOR = unique('field-sensor');
const WAIT = { timeout: 30_000, interval: 50 };

let broker: BrokerHandle;
let cloud: CloudWorker;
let edge: EdgeNode;
let optimizer: LiveOptimizer;
let sink: ResultSink;
let host: DeviceProfile;
let waitingBeforeNodes: string;
let metrics: MetricsStore;
const extra: EdgeNode[] = [];
const models = { [MODEL]: join(zoo, `${MODEL}.onnx`) };

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  host = await processHost();
  metrics = createMetricsStore('embedded');
  // No edgeProfile, no cloudProfile: the space comes from the nodes.
  optimizer = await startOptimizer({ mqttUrl: broker.url, models, intervalMs: 300, windowMs: 3_000, memoryMs: 10_000 }, { metrics });
  await optimizer.round();
  waitingBeforeNodes = optimizer.status().waiting ?? '';
  cloud = await startCloudWorker({ workerId: unique('field-cloud'), mqttUrl: broker.url, models, threads: 1, profile: 'host' }, { host });
  edge = await startEdgeNode({ edgeId: unique('field-edge'), mqttUrl: broker.url, models, profile: 'host' }, { metrics, host });
  sink = await resultSink(broker.url, [SENSOR]);
}, 60_000);

afterAll(async () => {
  await optimizer?.close();
  await sink?.close();
  for (const node of [...extra, edge]) await node?.close();
  await cloud?.close();
  await broker?.close();
});

/** Sends `count` frames and returns their results once all are in. */
async function send(prefix: string, count: number) {
  const start = sink.all.length;
  for (const [i, x] of inputs(SHAPE, count, 5).entries()) await sink.publishFrame(SENSOR, frame(`${prefix}-${i}`, SENSOR, MODEL, SHAPE, x));
  await sink.waitFor(start + count);
  return sink.all.slice(start);
}

/** Whether a host (one frequency step, `cores` cores, no accelerator) can run `c`. */
function hostCanRun(c: ConfigurationProperties | null | undefined, profile: DeviceProfile): boolean {
  const frequency = c?.edge_frequency_mhz ?? 0;
  const threads = c?.edge_threads ?? 0;
  return (frequency === 0 || profile.cpu.frequenciesMhz.includes(frequency)) && threads <= profile.cpu.cores
    && ['', 'none'].includes(c?.edge_accelerator ?? '');
}

async function publishPolicy(policy: PolicyProperties): Promise<void> {
  await sink.client.publishAsync(topics.policy(MODEL, policy.edge_class!), Buffer.from(encodePolicy(policy)), { qos: 1, retain: true });
}

describe('policies in the field', () => {
  it('waits for announcements, then publishes a policy of configurations the host runs, and no request fails', async () => {
    expect(waitingBeforeNodes).toContain('no cloud worker has announced itself');
    await vi.waitFor(() => expect(optimizer.published(MODEL, 'default')).toBeDefined(), WAIT);
    const policy = optimizer.published(MODEL, 'default')!;
    expect(policy.entries!.length).toBeGreaterThan(0);
    for (const entry of policy.entries!) expect(hostCanRun(entry.configuration, host), entry.configuration!.name!).toBe(true);
    await vi.waitFor(() => expect(edge.stats().policies.versions[MODEL]).toBeGreaterThanOrEqual(policy.version!), WAIT);
    expect(edge.stats().policies.rejected).toBe(0);
    const results = await send('field', 20);
    expect(results.map((r) => r.error?.code ?? '')).toEqual(Array(20).fill(''));
    const status = optimizer.status();
    expect(status.waiting).toBe('');
    expect(status.classes).toContainEqual(expect.objectContaining({ model: MODEL, edge_class: 'default', profile_source: 'announced', nodes: 1 }));
    expect(status.refusals).toEqual([]);
  });

  it('has a policy the node cannot run refused whole; the previous one keeps serving and the optimizer reports the refusal', async () => {
    await vi.waitFor(() => expect(edge.stats().policies.versions[MODEL]).toBeGreaterThan(0), WAIT);
    const inForce = edge.stats().policies.versions[MODEL]!;
    const applied = optimizer.published(MODEL, 'default')!;
    const runnable = applied.entries![0]!;
    const cut = 'features.pool2';
    const bad: Array<[string, Configuration]> = [
      ['frequency', configuration({ cut, codec: 'fp16', edge_frequency_mhz: host.cpu.frequenciesMhz.at(-1)! + 1 })],
      ['cut', configuration({ cut: 'features.no_such_layer', codec: 'fp16' })],
      ['accelerator', configuration({ cut, codec: 'fp16', edge_accelerator: 'coral-usb:max' })],
    ];
    for (const [i, [what, config]] of bad.entries()) {
      // Newer than anything the optimizer publishes, so only the node's check keeps it out.
      const version = inForce + 1_000_000 + i;
      await publishPolicy({ version, model: MODEL, edge_class: 'default', rule: 'energy-first', entries: [runnable, { configuration: config, latency_ms: 1 }] });
      await vi.waitFor(() => expect(optimizer.status().refusals, what).toContainEqual(expect.objectContaining({
        node_id: edge.edgeId, model: MODEL, version, configuration: config.name,
      })), WAIT);
      expect(edge.stats().policies.versions[MODEL]).toBeLessThan(inForce + 1_000_000);
      const results = await send(`refused-${what}`, 6);
      expect(results.map((r) => r.error?.code ?? '')).toEqual(Array(6).fill(''));
      for (const r of results) expect(hostCanRun(r.configuration, host), r.configuration!.name!).toBe(true);
    }
    expect(edge.stats().policies.rejected).toBe(bad.length);
    // The refusal clears once a runnable policy newer than the refused one is applied.
    await publishPolicy({ ...applied, version: inForce + 2_000_000 });
    await vi.waitFor(() => expect(optimizer.status().refusals).toEqual([]), WAIT);
  });

  it('gives two edge classes on one broker (this host and an emulated rpi4) each a policy they can run', async () => {
    const pi = await startEdgeNode({ edgeId: unique('field-pi'), edgeClass: 'pi', group: unique('pi-group'), mqttUrl: broker.url, models, profile: 'rpi4' }, { host });
    extra.push(pi);
    await vi.waitFor(() => expect(optimizer.published(MODEL, 'pi')).toBeDefined(), WAIT);
    const piPolicy = optimizer.published(MODEL, 'pi')!;
    await vi.waitFor(() => expect(pi.stats().policies.versions[MODEL]).toBeGreaterThanOrEqual(piPolicy.version!), WAIT);
    expect(pi.stats().policies.rejected).toBe(0);
    // The rpi4's policy uses the rpi4's clock; the host's never does (unless the host runs at one of its steps).
    const piSteps = [600, 800, 1000, 1200, 1400, 1600, 1800];
    for (const e of piPolicy.entries!) expect([0, ...piSteps]).toContain(e.configuration!.edge_frequency_mhz ?? 0);
    const hostPolicy = optimizer.published(MODEL, 'default')!;
    for (const e of hostPolicy.entries!) expect(hostCanRun(e.configuration, host)).toBe(true);
    const status = optimizer.status();
    expect(status.classes!.map((c) => c.edge_class).sort()).toEqual(['default', 'pi']);
    expect(status.disagreeing).toEqual([]);
    expect(edge.stats().policies.rejected).toBe(3); // the three refused above, no more
  });

  it('keeps a configuration whose requests fall back off the front until it succeeds again', async () => {
    // A slow edge (test/fixtures/slow-edge.json, 100-200 MHz, one core), for which offloading is worth it: its front holds
    // offloaded configurations. It alone takes the control frames: the other edges stop.
    for (const node of [edge, ...extra]) await node.close();
    const pi = await startEdgeNode({
      edgeId: unique('field-slow'), edgeClass: 'slow', mqttUrl: broker.url, models, profile: join(import.meta.dirname, '..', 'fixtures', 'slow-edge.json'),
    }, { metrics, host });
    extra.push(pi);
    await vi.waitFor(async () => expect((await optimizer.round()).some((r) => r.edgeClass === 'slow')).toBe(true), WAIT);
    const [report] = (await optimizer.round()).filter((r) => r.edgeClass === 'slow');
    const offloaded = report!.front.find((c) => c.cut !== 'output');
    expect(offloaded, JSON.stringify(report!.front.map((c) => c.name))).toBeDefined();
    // Forced through the control channel (as a measurement run does), over a link too slow for the budget: the edge runs the tail itself.
    const force = async (prefix: string, count: number, budgetMs: number) => {
      const start = sink.all.length;
      for (const [i, x] of inputs(SHAPE, count, 9).entries()) {
        const forced = Frame.create({ ...frame(`${prefix}-${i}`, SENSOR, MODEL, SHAPE, x, budgetMs), configuration: offloaded });
        await sink.client.publishAsync(topics.controlFrames(SENSOR), Buffer.from(Frame.encode(forced).finish()), { qos: 1 });
      }
      await sink.waitFor(start + count);
      return sink.all.slice(start);
    };
    pi.setLink({ mbps: 0, rttMs: 10_000 });
    // One fallback, fewer than the runs (minRuns, 3) that would make its own figures replace the model's: only its failing takes it off the front.
    const slow = await force('fallback', 1, 1_000);
    expect(slow.map((r) => [r.configuration!.name, r.edge_fallback, r.error?.code ?? ''])).toEqual([[offloaded!.name, true, '']]);
    const [failing] = (await optimizer.round()).filter((r) => r.edgeClass === 'slow');
    expect(failing!.failing).toContain(offloaded!.name);
    expect(failing!.front.map((c) => c.name)).not.toContain(offloaded!.name);
    expect(optimizer.status().classes!.find((c) => c.edge_class === 'slow')!.failing).toContain(offloaded!.name);
    // The link is back: one clean success brings it back.
    pi.setLink({ mbps: 0, rttMs: 0 });
    const fast = await force('recovered', 1, 10_000);
    expect(fast.map((r) => [r.edge_fallback, r.error?.code ?? ''])).toEqual([[false, '']]);
    const [recovered] = (await optimizer.round()).filter((r) => r.edgeClass === 'slow');
    expect(recovered!.failing).not.toContain(offloaded!.name);
    expect(recovered!.front.map((c) => c.name)).toContain(offloaded!.name);
  });
});
