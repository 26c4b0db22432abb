/**
 * The live re-optimization rig the serial tests share: a broker, an emulated GPU worker, an edge node
 * emulating a slow device on an emulated 2 Mbit/s uplink, and the live optimizer reading the metrics,
 * with a sensor sending 5 frames a second until the rig is closed.
 */
import { join } from 'node:path';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import { createMetricsStore } from '../../metrics/index.ts';
import { startOptimizer, type LiveOptimizer } from '../../optimizer/index.ts';
import { compilePolicy, decide, type Entry } from '../../policy/index.ts';
import { frame, inputs, resultSink, type ResultSink } from './pipeline.ts';

export const RIG_MODEL = 'vgg16-tiny';
const SHAPE = [1, 3, 32, 32];
export const RIG_BUDGET_MS = 300;
const EDGE_PROFILE = join(import.meta.dirname, '..', 'fixtures', 'slow-edge.json');

export interface AdaptationRig {
  broker: BrokerHandle;
  cloud: CloudWorker;
  edge: EdgeNode;
  optimizer: LiveOptimizer;
  sink: ResultSink;
  /** Resolves once `count` more results have come in: windows are counted in answers (5 a second), not ms. */
  moreAnswers(count: number): Promise<void>;
  /** The configuration the published policy picks for the rig's budget. */
  choice(): Entry | undefined;
  close(): Promise<void>;
}

/** `name` prefixes ids (worker, edge, sensor); `memoryMs` is the optimizer's memory of link figures. */
export async function startAdaptationRig(zoo: string, name: string, memoryMs: number): Promise<AdaptationRig> {
  const broker = await startBroker({ host: '127.0.0.1', port: 0 });
  const models = { [RIG_MODEL]: join(zoo, `${RIG_MODEL}.onnx`) };
  const metrics = createMetricsStore('embedded');
  const cloud = await startCloudWorker({ workerId: `${name}-cloud`, mqttUrl: broker.url, models, profile: 'gpu-server' });
  const edge = await startEdgeNode({ edgeId: `${name}-edge`, mqttUrl: broker.url, models, profile: EDGE_PROFILE, linkMbps: 2, linkRttMs: 1, concurrency: 4 },
    { metrics });
  const optimizer = await startOptimizer({
    mqttUrl: broker.url, models, edgeProfile: EDGE_PROFILE, cloudProfile: 'gpu-server', codecs: ['fp32'],
    intervalMs: 500, windowMs: 3_000, memoryMs, linkMbps: 2, linkRttMs: 1,
  }, { metrics });
  const sensor = `${name}-sensor`;
  const sink = await resultSink(broker.url, [sensor]);
  const data = inputs(SHAPE, 8, 2);
  let sending = true;
  void (async () => {
    for (let i = 0; sending; i++) {
      await sink.publishFrame(sensor, frame(`${name}-${i}`, sensor, RIG_MODEL, SHAPE, data[i % data.length], RIG_BUDGET_MS));
      await new Promise((resolve) => setTimeout(resolve, 200)); // 5 frames/s: the load, not a wait
    }
  })();
  return {
    broker, cloud, edge, optimizer, sink,
    moreAnswers: (count) => sink.waitFor(sink.all.length + count, 30_000),
    choice: () => {
      const policy = optimizer.published(RIG_MODEL);
      return policy ? decide(compilePolicy(policy), RIG_BUDGET_MS) : undefined;
    },
    close: async () => {
      sending = false;
      await optimizer.close();
      await sink.close();
      await edge.close();
      await cloud.close();
      await broker.close();
    },
  };
}
