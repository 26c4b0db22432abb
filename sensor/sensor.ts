/**
 * The sensor: publishes frames (QoS 1) at a steady rate through a FrameClient, each with a latency
 * budget drawn from the configured distribution, collects the results, and summarizes the run.
 */
import { connectFrameClient, type Answer } from '../client/index.ts';
import { silentLogger, type Logger } from '../common/index.ts';
import { checkCard, imageInputOf, inspectModel, loadModelCard, requireFloatInputs, resolveModel } from '../model/index.ts';
import { budgetSampler } from '../workload/index.ts';
import { imageInputs, syntheticSource, type InputSource } from './inputs.ts';
import { drainMsFor, parseSensorOptions, type SensorOptions } from './options.ts';
import { summarizeRun, type Received, type RunSummary } from './summary.ts';

export interface SensorDeps {
  logger?: Logger;
  /** Called as frames go out and results come in. */
  onProgress?: (sent: number, answered: number, total: number) => void;
}

export async function runSensor(partial: Partial<SensorOptions>, deps: SensorDeps = {}): Promise<RunSummary> {
  const options = parseSensorOptions(partial);
  const logger = (deps.logger ?? silentLogger()).child({ component: 'sensor', node: options.sensorId });
  const inputs = await inputSource(options);
  const budgets = budgetSampler(options.budgets, { seed: options.seed });
  const received: Received[] = [];
  // No per-request timeout: every frame waits until the drain after the last one went out ends.
  const client = await connectFrameClient({
    mqttUrl: options.mqttUrl, sensorId: options.sensorId, mqttTls: options.mqttTls, timeoutMs: Infinity, logger, persistentSession: options.persistentSession,
  });
  let sent = 0;
  let longestBudgetMs = 0;
  let allAnswered: () => void = () => undefined;
  const done = new Promise<void>((resolve) => { allAnswered = resolve; });
  const collect = ({ result, roundTripMs }: Answer) => {
    received.push({ result, latencyMs: roundTripMs });
    deps.onProgress?.(sent, received.length, options.count);
    if (received.length === options.count) allAnswered();
  };
  try {
    // A frame published before any edge has subscribed is lost at the broker.
    if (options.waitForEdgeMs > 0) await client.waitForEdge(options.model, { timeoutMs: options.waitForEdgeMs });
    const started = performance.now();
    for (let i = 0; i < options.count; i++) {
      const due = started + (i * 1000) / options.rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const budgetMs = budgets();
      longestBudgetMs = Math.max(longestBudgetMs, budgetMs);
      const { answer } = await client.send({ model: options.model, budget_ms: budgetMs, ...inputs(i) });
      answer.then(collect, () => undefined);
      sent++;
      deps.onProgress?.(sent, received.length, options.count);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((resolve) => { timer = setTimeout(resolve, drainMsFor(options.drainMs, longestBudgetMs)); })]);
    clearTimeout(timer);
  } finally {
    await client.close();
  }
  // With no timeouts, a result no request waits for is a duplicate (a redelivered frame answered twice).
  const summary = summarizeRun(options.count, received, client.stats().unmatched);
  logger.info(summary, 'sensor run finished');
  return summary;
}

/** The model's inputs, with its card (beside it, or options.card) and dims: refused at start when a dim stays open. */
async function inputSource(options: SensorOptions): Promise<InputSource> {
  const path = await resolveModel(options.modelSource ?? options.model, { cacheDir: options.modelCacheDir });
  const loaded = loadModelCard(path, { path: options.card, dims: options.dims });
  const inspection = await inspectModel(path, { dims: loaded.card.dims });
  requireFloatInputs(path, inspection.inputs);
  checkCard(loaded, inspection);
  const model = { inputs: inspection.inputs, image: imageInputOf(loaded, inspection.inputs) };
  return options.imagesDir ? imageInputs(options.imagesDir, model, options.sendEncoded, options.seed) : syntheticSource(model, options.seed);
}
