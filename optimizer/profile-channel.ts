/**
 * The adapters profiling runs through: the control channel (frames on the profiler's own sensor id
 * whose `configuration` field forces a configuration, Results back on its result topic, one request
 * in flight) and the reference answers of the unsplit model, run here on the same inputs.
 */
import { encodeTensor } from '../codec/index.ts';
import { connectMqtt, seededTensor, type Logger } from '../common/index.ts';
import type { Configuration } from '../policy/index.ts';
import { Frame, Result, topics, type FrameProperties, type TensorProperties } from '../schemas/index.ts';

export interface ChannelOptions {
  mqttUrl: string;
  model: string;
  sensorId: string;
  /** Latency budget of each frame, ms. */
  budgetMs: number;
  /** ms to wait for a Result. */
  timeoutMs: number;
}

export interface ProfileInput { tensor: TensorProperties; data: Float32Array }

export interface Channel {
  /** Publishes one frame forcing `config`; resolves with its Result, or undefined after the timeout. */
  send(config: Configuration, tensor: TensorProperties): Promise<Result | undefined>;
  /** Publishes one frame as given (its model and budget win over the channel's; no configuration: the edge decides). */
  sendFrame(frame: FrameProperties): Promise<Result | undefined>;
  close(): Promise<void>;
}

export async function openChannel(options: ChannelOptions, logger: Logger): Promise<Channel> {
  const mqtt = await connectMqtt(options.mqttUrl, { clientId: `${options.sensorId}-${Date.now().toString(36)}` });
  // Request ids are unique per run, so results of an earlier run on the same sensor id are ignored.
  const runId = `${options.sensorId}-${Date.now().toString(36)}`;
  const pending = new Map<string, (result: Result) => void>();
  let sequence = 0;
  mqtt.on('message', (_topic, payload) => {
    let result: Result;
    try {
      result = Result.decode(payload);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'undecodable result ignored');
      return;
    }
    pending.get(result.request_id)?.(result);
  });
  await mqtt.subscribeAsync(topics.results(options.sensorId), { qos: 1 });
  const sendFrame = async (properties: FrameProperties): Promise<Result | undefined> => {
    const requestId = `${runId}-${sequence++}`;
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<Result | undefined>((resolve) => {
      pending.set(requestId, resolve);
      timer = setTimeout(() => resolve(undefined), options.timeoutMs);
    });
    const frame = Frame.create({
      model: options.model, budget_ms: options.budgetMs, ...properties, request_id: requestId, sensor_id: options.sensorId, capture_at_ms: Date.now(),
    });
    try {
      await mqtt.publishAsync(topics.frames(options.sensorId), Buffer.from(Frame.encode(frame).finish()), { qos: 1 });
      return await answer;
    } finally {
      clearTimeout(timer);
      pending.delete(requestId);
    }
  };
  return {
    send: (config, tensor) => sendFrame({ tensor, configuration: config }),
    sendFrame,
    close: () => mqtt.endAsync(),
  };
}

/** Seeded normal(0, 1) inputs of the model's input shape, as fp32 wire tensors. */
export function syntheticInputs(shape: number[], seed: number, variants: number): ProfileInput[] {
  return Array.from({ length: variants }, (_, k) => {
    const data = seededTensor(shape, seed, `profile-input-${k}`);
    return { tensor: encodeTensor({ name: 'input', shape, data }, 'fp32'), data };
  });
}

export { referenceClasses } from '../model/index.ts';
