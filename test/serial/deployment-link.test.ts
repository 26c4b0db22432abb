/**
 * The link is estimated, not guessed: an edge node behind an emulated 5 Mbit/s, 20 ms uplink sends
 * mixed traffic (frames at five cuts and codecs, from 32 KiB to 256 B) to a real cloud worker; the fit
 * over the transfers the edge wrote to its metrics store, less the fit of the same frames over the
 * loopback path alone, gives the uplink within 25%. The aggregate rate (sum of bytes over sum of ms)
 * is shown to be far off on the same transfers: it counts the round trip as slowness.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it, vi } from 'vitest';
import { createMetricsStore, type MetricsStore } from '../../metrics/index.ts';
import { fitLink } from '../../pareto/index.ts';
import { frame, inputs, startEmbeddedPipeline, type EmbeddedPipeline, type ResultSink } from '../helpers/pipeline.ts';

const zoo = inject('zooDir');
const MODEL = 'vgg16-tiny';
const SHAPE = [1, 3, 32, 32];
const LINK = { mbps: 5, rttMs: 20 };
let pipeline: EmbeddedPipeline;
let metrics: MetricsStore;
let sink: ResultSink;

beforeAll(async () => {
  metrics = createMetricsStore('embedded');
  pipeline = await startEmbeddedPipeline({ models: { [MODEL]: join(zoo, `${MODEL}.onnx`) } }, ['link-sensor'], {
    cloud: { workerId: 'link-cloud', profile: 'gpu-server' },
    edge: { edgeId: 'link-edge', linkMbps: LINK.mbps, linkRttMs: LINK.rttMs, concurrency: 1 },
    edgeDeps: { metrics },
  });
  ({ sink } = pipeline);
}, 60_000);

afterAll(async () => {
  await pipeline?.close();
});

it('estimates an emulated 5 Mbit/s / 20 ms uplink within 25% from mixed traffic', async () => {
  const data = inputs(SHAPE, 4, 3);
  const transfers = async () => (await metrics.linkSamples({ sinceMs: 0, edgeId: 'link-edge' })).length;
  let sent = 0;
  /** Sends one frame and waits for its answer and its transfer's point: one at a time, no queue enters the times. */
  const send = async (configuration: { cut: string; codec: string }) => {
    const before = await transfers();
    await sink.publishFrame('link-sensor', { ...frame(`l-${sent++}`, 'link-sensor', MODEL, SHAPE, data[sent % data.length]!, 30_000), configuration });
    await sink.waitFor(sent, 30_000);
    await vi.waitFor(async () => expect(await transfers()).toBe(before + 1), { timeout: 10_000, interval: 5 });
  };
  // 32 KiB, 12 KiB, 6 KiB, 4 KiB and 256 B on the wire (52 to 0.4 ms at 5 Mbit/s).
  const kinds = [
    { cut: 'features.relu1_2', codec: 'fp32' }, { cut: 'input', codec: 'fp32' }, { cut: 'input', codec: 'fp16' },
    { cut: 'features.pool2', codec: 'fp32' }, { cut: 'features.pool5', codec: 'fp32' },
  ];
  // Each frame is sent twice in turn: over the loopback path alone, then behind the emulated link. The
  // path's own cost (MQTT through the broker, on a machine that may be busy) is fitted from the first
  // and taken off the second, both measured under the same load.
  const since = Date.now();
  for (let i = 0; i < 60; i++) {
    for (const emulated of [false, true]) {
      pipeline.edge.setLink(emulated ? LINK : { mbps: 0, rttMs: 0 });
      await send(kinds[i % kinds.length]!);
    }
  }
  // In time order, one transfer per frame: the loopback ones and the emulated ones alternate.
  const all = await metrics.linkSamples({ sinceMs: since, edgeId: 'link-edge' });
  expect(all).toHaveLength(120);
  const samples = all.filter((_, i) => i % 2 === 1);
  const path = all.filter((_, i) => i % 2 === 0);
  expect(new Set(samples.map((s) => s.bytes)).size).toBeGreaterThanOrEqual(3);
  const fit = fitLink(samples, { bandwidthMbps: 100, rttMs: 2 });
  const own = fitLink(path, { bandwidthMbps: 10_000, rttMs: 1 });
  // The link alone: times add, so per-byte times (1/bandwidth) and round trips subtract.
  const linkMbps = 1 / (1 / fit.bandwidthMbps - 1 / own.bandwidthMbps);
  const linkRttMs = fit.rttMs - own.rttMs;
  const detail = JSON.stringify({ linkMbps, linkRttMs, fit, own, samples: samples.slice(0, 12) });
  expect(fit.bandwidthFitted, detail).toBe(true);
  expect(Math.abs(linkMbps - LINK.mbps) / LINK.mbps, detail).toBeLessThanOrEqual(0.25);
  expect(Math.abs(linkRttMs - LINK.rttMs) / LINK.rttMs, detail).toBeLessThanOrEqual(0.25);
  expect(fit.bandwidthRangeMbps[0]).toBeLessThan(fit.bandwidthMbps);
  expect(fit.bandwidthRangeMbps[1]).toBeGreaterThan(fit.bandwidthMbps);
  const aggregate = (samples.reduce((a, x) => a + x.bytes, 0) * 8) / samples.reduce((a, x) => a + x.transferMs, 0) / 1000;
  expect(aggregate, 'the aggregate rate reads the round trip as a slow link').toBeLessThan(LINK.mbps * 0.5);
}, 120_000);
