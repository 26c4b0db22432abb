/**
 * Test scaffolding for the pipeline: an MQTT test client that publishes frames and collects
 * results by request id, and the local reference (the full model run in-process) to check answers.
 */
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker, type CloudWorker, type CloudWorkerOptions } from '../../cloud-worker/index.ts';
import { encodeTensor } from '../../codec/index.ts';
import { connectMqtt, seededTensor, type MqttClient } from '../../common/index.ts';
import { startEdgeNode, type EdgeNode, type EdgeNodeDeps, type EdgeNodeInput } from '../../edge-node/index.ts';
import { Frame, Result, topics, type FrameProperties } from '../../schemas/index.ts';

export interface ResultSink {
  client: MqttClient;
  /** Every result received, in arrival order. */
  all: Result[];
  byId: Map<string, Result[]>;
  publishFrame(sensorId: string, frame: FrameProperties): Promise<void>;
  publishRaw(sensorId: string, payload: Uint8Array): Promise<void>;
  /** Resolves when at least `count` results have arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function resultSink(url: string, sensorIds: string[]): Promise<ResultSink> {
  const client = await connectMqtt(url, { clientId: `test-sink-${process.pid}-${Math.random().toString(36).slice(2, 8)}` });
  const all: Result[] = [];
  const byId = new Map<string, Result[]>();
  const waiters: (() => void)[] = [];
  client.on('message', (_topic, payload) => {
    const result = Result.decode(payload);
    all.push(result);
    byId.set(result.request_id, [...(byId.get(result.request_id) ?? []), result]);
    waiters.splice(0).forEach((wake) => wake());
  });
  await client.subscribeAsync(sensorIds.map((id) => topics.results(id)), { qos: 1 });
  return {
    client,
    all,
    byId,
    publishFrame: async (sensorId, frame) => {
      // As client/frame-client.ts does: a forced configuration goes on the control channel.
      const topic = frame.configuration ? topics.controlFrames(sensorId) : topics.frames(sensorId);
      await client.publishAsync(topic, Buffer.from(Frame.encode(Frame.create(frame)).finish()), { qos: 1 });
    },
    publishRaw: async (sensorId, payload) => {
      await client.publishAsync(topics.frames(sensorId), Buffer.from(payload), { qos: 1 });
    },
    waitFor: (count, timeoutMs = 30_000) => new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out with ${all.length}/${count} results`)), timeoutMs);
      const check = (): void => {
        if (all.length < count) return void waiters.push(check);
        clearTimeout(timer);
        resolve();
      };
      check();
    }),
    close: () => client.endAsync(),
  };
}

/** Seeded input tensors for a model input shape. */
export function inputs(shape: number[], count: number, seed = 11): Float32Array[] {
  return Array.from({ length: count }, (_, i) => seededTensor(shape, seed, `pipeline-test-${i}`));
}

export function frame(requestId: string, sensorId: string, model: string, shape: number[], data: Float32Array, budgetMs = 5_000): FrameProperties {
  return {
    request_id: requestId,
    sensor_id: sensorId,
    model,
    budget_ms: budgetMs,
    capture_at_ms: Date.now(),
    tensor: encodeTensor({ name: 'input', shape, data }, 'fp32'),
  };
}

export { referenceClasses } from '../../model/index.ts';

/** The embedded pipeline: an aedes broker, a cloud worker and an edge node in this process, and a result sink. */
export interface EmbeddedPipeline {
  broker: BrokerHandle;
  cloud: CloudWorker;
  edge: EdgeNode;
  sink: ResultSink;
  close(): Promise<void>;
}

/** What both nodes are given alike: the models and how they load them. */
export type SharedNodeOptions = Pick<CloudWorkerOptions, 'models'> & Partial<Pick<CloudWorkerOptions, 'cards' | 'dims' | 'threads' | 'workDir'>>;

/** What one node is given over the shared options (an id to query by, a profile, an emulated link), and the edge's deps. */
export interface PipelineNodes {
  cloud?: Partial<CloudWorkerOptions>;
  edge?: Partial<EdgeNodeInput>;
  edgeDeps?: EdgeNodeDeps;
}

/** Starts the pipeline on port 0 with random node ids unless `nodes` names them; the sink listens for `sensorIds`. */
export async function startEmbeddedPipeline(node: SharedNodeOptions, sensorIds: string[], nodes: PipelineNodes = {}): Promise<EmbeddedPipeline> {
  const unique = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;
  const broker = await startBroker({ host: '127.0.0.1', port: 0 });
  const cloud = await startCloudWorker({ ...node, mqttUrl: broker.url, workerId: unique('cloud'), ...nodes.cloud });
  const edge = await startEdgeNode({ ...node, mqttUrl: broker.url, edgeId: unique('edge'), ...nodes.edge }, nodes.edgeDeps);
  const sink = await resultSink(broker.url, sensorIds);
  return {
    broker, cloud, edge, sink,
    close: async () => {
      await sink.close();
      await edge.close();
      await cloud.close();
      await broker.close();
    },
  };
}
