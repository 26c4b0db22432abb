/**
 * The sensor: publishes frames (QoS 1) at a steady rate, each with a latency budget drawn from the
 * configured distribution, collects the results on its own result topic, and summarizes the run.
 */
import { connectMqtt, silentLogger, type Logger } from '../common/index.ts';
import { inspectModel, resolveModel } from '../model/index.ts';
import { Frame, Result, topics } from '../schemas/index.ts';
import { budgetSampler } from './budgets.ts';
import { imageInputs, syntheticInputs, type InputSource } from './inputs.ts';
import { parseSensorOptions, type SensorOptions } from './options.ts';
import { summarize, type Received, type Summary } from './summary.ts';

export interface SensorDeps {
  logger?: Logger;
  /** Called as frames go out and results come in. */
  onProgress?: (sent: number, answered: number, total: number) => void;
}

export async function runSensor(partial: Partial<SensorOptions>, deps: SensorDeps = {}): Promise<Summary> {
  const options = parseSensorOptions(partial);
  const logger = (deps.logger ?? silentLogger()).child({ component: 'sensor', node: options.sensorId });
  const inputs = await inputSource(options);
  const budgets = budgetSampler(options.budgets, options.seed);
  const received = new Map<string, Received>();
  const captureTimes = new Map<string, number>();
  // Request ids are unique per run, so results of an earlier run on a retained session are ignored.
  const runId = `${options.sensorId}-${Date.now().toString(36)}`;
  const mqtt = await connectMqtt(options.mqttUrl, { clientId: `${options.sensorId}-${process.pid}`, ...options.mqttTls });
  let sent = 0;
  let duplicates = 0;
  let allAnswered: () => void = () => undefined;
  const done = new Promise<void>((resolve) => { allAnswered = resolve; });
  mqtt.on('message', (_topic, payload) => {
    const at = Date.now();
    let result: Result;
    try {
      result = Result.decode(payload);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'undecodable result ignored');
      return;
    }
    const id = result.request_id;
    if (!id.startsWith(`${runId}-`)) return;
    if (received.has(id)) {
      duplicates++;
      return;
    }
    received.set(id, { result, latencyMs: at - captureTimes.get(id)! });
    deps.onProgress?.(sent, received.size, options.count);
    if (received.size === options.count) allAnswered();
  });
  try {
    await mqtt.subscribeAsync(topics.results(options.sensorId), { qos: 1 });
    const started = performance.now();
    for (let i = 0; i < options.count; i++) {
      const due = started + (i * 1000) / options.rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const requestId = `${runId}-${i}`;
      const captureAt = Date.now();
      captureTimes.set(requestId, captureAt);
      const frame = Frame.encode(Frame.create({
        request_id: requestId, sensor_id: options.sensorId, model: options.model, budget_ms: budgets(), capture_at_ms: captureAt, ...inputs(i),
      })).finish();
      await mqtt.publishAsync(topics.frames(options.sensorId), Buffer.from(frame), { qos: 1 });
      sent++;
      deps.onProgress?.(sent, received.size, options.count);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((resolve) => { timer = setTimeout(resolve, options.drainMs); })]);
    clearTimeout(timer);
  } finally {
    await mqtt.endAsync();
  }
  const summary = summarize(options.count, received.values(), duplicates);
  logger.info(summary, 'sensor run finished');
  return summary;
}

async function inputSource(options: SensorOptions): Promise<InputSource> {
  const path = await resolveModel(options.modelSource ?? options.model, { cacheDir: options.modelCacheDir });
  const shape = (await inspectModel(path)).input.shape;
  return options.imagesDir ? imageInputs(options.imagesDir, shape, options.sendEncoded) : syntheticInputs(shape, options.seed);
}
