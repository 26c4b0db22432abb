/**
 * The testbed's run (`dynasplit eval testbed`, cli/eval-testbed-command.ts): everything in this process
 * as in `dynasplit demo` (an aedes broker on an ephemeral loopback port, a cloud worker and an edge
 * node emulating device profiles, the metrics store) with real ONNX inference and real protobuf over
 * MQTT. Per model: (1) profile a reduced space through the control channel and write the pool; (2) run
 * every strategy on the same budgets, one request at a time (static ones forced, DynaSplit's through a
 * policy the edge decides with); (3) the oracle with hindsight over the pool. docs/evaluation.md.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { startBroker } from '../../broker/index.ts';
import { connectFrameClient } from '../../client/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { connectMqtt, createProgress, DynasplitError, ErrorCodes, isDynasplitError, isErrorCode, progressCallback, type Logger, type MqttClient, type Progress } from '../../common/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import { HOST_PROFILE, loadProfile, processHost, type DeviceProfile } from '../../hardware/index.ts';
import type { MetricsStore } from '../../metrics/index.ts';
import {
  answerKindOf, checkCard, DEFAULT_MODEL_CACHE_DIR, inspectModel, loadModelCard, referenceClassesOf, resolveModel, resultClass, type Answer, type AnswerKind,
} from '../../model/index.ts';
import { measureConfigurations } from '../../optimizer/index.ts';
import { writePool, type PoolRow } from '../../pareto/index.ts';
import { encodePolicy } from '../../policy/index.ts';
import { topics, type FrameProperties, type Result } from '../../schemas/index.ts';
import { syntheticFrames, type SyntheticFrame } from '../../workload/index.ts';
import type { StrategyName } from '../strategies.ts';
import { poolTable, type PoolTable } from '../table.ts';
import { accuracyByCutAndCodec, budgetSequence, liveCostMs, recordOf, strategyPlans, testbedResults, type LiveRun, type StrategyPlan, type StrategyRun, type TestbedResults } from '../testbed-figures.ts';
import { parseSpace, planConfigurations, predictedPool, measureCostsMs, referenceMs, sessionBudgetsMb, type PlanContext, type TestbedPlan } from '../testbed-plan.ts';

/** Where the run reports as it goes: stderr-like text and whether it is a terminal (progress redraws in place). */
export interface TestbedIo {
  stderr(text: string): void;
  isTTY: boolean;
}

export interface TestbedOptions {
  /** Model name -> zoo name or ONNX file. */
  models: Record<string, string>;
  /** Requests per model per strategy. */
  requests: number;
  /** A budget spec (workload/; weibull:SHAPE scaled to the pool) or a list of budgets, ms; `budgetsLabel` names it in the results. */
  budgets: string | number[];
  budgetsLabel: string;
  seed: number;
  outDir: string;
  edgeProfile: string;
  cloudProfile: string;
  /** Recorded runs per configuration in phase 1. */
  repetitions: number;
  /** Unrecorded requests per cut before its configurations are measured. */
  warmup: number;
  /** testbed-plan.ts parseSpace. */
  space: string;
  strategies: StrategyName[];
  /** The strategies and the oracle choose among configurations at least this accurate (baselines excepted); default none. */
  accuracyFloor?: number;
  /** ms to wait for each result. */
  timeoutMs: number;
  modelCacheDir?: string;
}

export interface TestbedDeps {
  logger: Logger;
  metrics: MetricsStore;
  io: TestbedIo;
  /** Aborted: the run stops at its next request or configuration, closes what it started and writes what is whole (below). */
  signal?: AbortSignal;
  /**
   * The files the run wrote, appended as it goes. Once aborted, a model's measured runs so far go to
   * pool-MODEL.partial.csv (partial: true) and its results are not written: figures of some
   * strategies only would read as the comparison.
   */
  written?: WrittenFile[];
  /** Called between phase 1 and phase 2, once a model's pool is measured and what each strategy sends is chosen (the demo prints its front here). */
  onMeasured?: (measured: MeasuredModel) => void;
}

/** A model's phase 1, as phase 2 is about to use it. */
export interface MeasuredModel { model: string; rows: PoolRow[]; table: PoolTable; plans: StrategyPlan[]; budgets: number[] }

export interface WrittenFile { file: string; partial: boolean }

export interface ModelOutcome { model: string; pool: string; results: string; figures: TestbedResults; elapsedMs: number }

interface Prepared {
  name: string;
  path: string;
  ctx: PlanContext;
  plan: TestbedPlan;
  /** Seeded frames' inputs (every input of the model in each), cycled by both phases, and the unsplit model's answer on each. */
  inputs: SyntheticFrame[];
  reference: Answer[];
  /** The output whose answer is compared: the card's classification tensor, else (raw) the first; and how (answerKindOf). */
  output?: string;
  answerKind: AnswerKind;
  /** Estimated ms of phase 1 per group of the plan, and of phase 2. */
  groupMs: number[];
  measureMs: number;
  liveMs: number;
}

/** Runs the testbed for every model in turn, on one broker and one metrics store; writes the files and returns the figures. */
export async function runTestbed(options: TestbedOptions, deps: TestbedDeps): Promise<ModelOutcome[]> {
  const host = await processHost();
  const device = async (name: string) => (name === HOST_PROFILE ? host : loadProfile(name));
  const [edge, cloud] = [await device(options.edgeProfile), await device(options.cloudProfile)];
  const prepared: Prepared[] = [];
  for (const [name, spec] of Object.entries(options.models)) {
    if (deps.signal?.aborted) return [];
    prepared.push(await prepare(name, spec, { edge, cloud, host }, options, deps.io));
  }
  if (deps.signal?.aborted) return [];
  deps.io.stderr(estimateText(prepared, options));
  mkdirSync(options.outDir, { recursive: true });
  const broker = await startBroker({ host: '127.0.0.1', port: 0 }, { logger: deps.logger });
  const outcomes: ModelOutcome[] = [];
  try {
    for (const model of prepared) {
      if (deps.signal?.aborted) break;
      const outcome = await runModel(model, { url: broker.url, host }, options, deps);
      if (outcome) outcomes.push(outcome);
    }
  } finally {
    await broker.close();
  }
  return outcomes;
}

async function prepare(
  name: string, spec: string, devices: { edge: DeviceProfile; cloud: DeviceProfile; host: DeviceProfile }, options: TestbedOptions, io: TestbedIo,
): Promise<Prepared> {
  // A zoo model not generated yet is written first (VGG16: 528 MB, about a minute here): with a bar, not silently.
  const path = await resolveModel(spec, {
    cacheDir: options.modelCacheDir ?? DEFAULT_MODEL_CACHE_DIR,
    onProgress: progressCallback({ write: io.stderr, isTTY: io.isTTY }, `generating ${spec}`, (n) => n.toLocaleString('en-US')),
  });
  // Dims as the nodes bind them: the card beside the model file (the testbed's nodes read the same one).
  const loaded = loadModelCard(path);
  const inspection = await inspectModel(path, { dims: loaded.card.dims });
  checkCard(loaded, inspection);
  const output = loaded.card.output.kind === 'classification' ? loaded.card.output.tensor : undefined;
  const ctx: PlanContext = { inspection, edge: devices.edge, cloud: devices.cloud };
  // The unsplit model's answers on the inputs both phases use (the measurement run makes the same ones from
  // the same seed); timed, they say how fast the host runs this model.
  const inputs = syntheticFrames(inspection.inputs, options.seed);
  const t0 = performance.now();
  await referenceClassesOf(path, inspection.inputs, [inputs[0].data], output);
  const t1 = performance.now();
  const reference = await referenceClassesOf(path, inspection.inputs, inputs.map((x) => x.data), output);
  const perRunMs = (performance.now() - t1 - (t1 - t0)) / (inputs.length - 1);
  ctx.hostFactor = Math.max(1, perRunMs / referenceMs(ctx, devices.host));
  const plan = planConfigurations(parseSpace(options.space), ctx);
  for (const [strategy, cut] of [['cloud-only', 'input'], ['edge-only', 'output']] as const) {
    if (options.strategies.includes(strategy) && !plan.cuts.includes(cut)) {
      throw new DynasplitError(ErrorCodes.BAD_ARGS, `testbed: strategy ${strategy} needs cut '${cut}', which the space leaves no valid configuration of`);
    }
  }
  const groupMs = measureCostsMs(plan, ctx, devices.host, options);
  // Phase 2 before anything is measured: the strategies' choices over predicted runs.
  const predicted = poolTable(predictedPool(plan, ctx, devices.host, name), { model: name });
  const live = strategyPlans(options.strategies, predicted, { edgeClass: 'default', source: 'modelled' });
  const liveMs = liveCostMs(live, predicted, budgetSequence(options.budgets, predicted, options.seed, options.requests));
  return { name, path, ctx, plan, inputs, reference, output, answerKind: answerKindOf(inspection.outputs, output), groupMs, measureMs: groupMs.reduce((a, b) => a + b, 0), liveMs };
}

function estimateText(prepared: Prepared[], options: TestbedOptions): string {
  const min = (ms: number) => `${(ms / 60_000).toFixed(1)} min`;
  const lines = prepared.map((p) => `  ${p.name}: ${p.plan.configurations.length} configurations over ${p.plan.cuts.length} cuts x ${options.repetitions} runs ` +
    `(~${min(p.measureMs)}), ${options.strategies.filter((s) => s !== 'oracle').length} live strategies x ${options.requests} requests (~${min(p.liveMs)})`);
  const total = prepared.reduce((s, p) => s + p.measureMs + p.liveMs, 0);
  return `testbed: embedded pipeline, edge emulating ${options.edgeProfile}, cloud emulating ${options.cloudProfile}\n${lines.join('\n')}\n` +
    `  estimate: ~${min(total)} (rough; each phase reports its ETA)\n`;
}

interface Pipeline { edge: EdgeNode; cloud: CloudWorker; url: string; close(): Promise<void> }

async function startPipeline(model: Prepared, env: { url: string; host: DeviceProfile }, options: TestbedOptions, deps: TestbedDeps): Promise<Pipeline> {
  const budgets = sessionBudgetsMb(model.plan, model.ctx);
  const models = { [model.name]: model.path };
  const common = { mqttUrl: env.url, models, modelCacheDir: options.modelCacheDir };
  const cloud = await startCloudWorker({ ...common, workerId: `testbed-cloud-${process.pid}`, profile: options.cloudProfile, memoryBudgetMb: budgets.cloud },
    { logger: deps.logger, host: env.host });
  try {
    // The testbed checks every answer against the unsplit model itself; the edge's own sampled check would run the
    // whole model on the host beside the next request, and its time would show up in that request's figures.
    const edge = await startEdgeNode({
      ...common, edgeId: `testbed-edge-${process.pid}`, profile: options.edgeProfile, memoryBudgetMb: budgets.edge, agreementSampleRate: 0,
    }, { logger: deps.logger, host: env.host, metrics: deps.metrics });
    return { edge, cloud, url: env.url, close: async () => { await edge.close(); await cloud.close(); } };
  } catch (err) {
    await cloud.close();
    throw err;
  }
}

/** The model's three phases and files; undefined when aborted (a partial pool written, if any run was measured). */
async function runModel(model: Prepared, env: { url: string; host: DeviceProfile }, options: TestbedOptions, deps: TestbedDeps): Promise<ModelOutcome | undefined> {
  const started = performance.now();
  const { inputs, reference } = model;
  const pipeline = await startPipeline(model, env, options, deps);
  try {
    const measureStart = performance.now();
    const measured = await measurePhase(model, pipeline, inputs, options, deps);
    const pool = join(options.outDir, `pool-${model.name}.csv`);
    const partialPool = join(options.outDir, `pool-${model.name}.partial.csv`);
    if (deps.signal?.aborted) {
      if (measured.rows.length > 0) write(partialPool, writePool(measured.rows), true, deps);
      return undefined;
    }
    write(pool, writePool(measured.rows), false, deps);
    rmSync(partialPool, { force: true });
    const liveStart = performance.now();
    const figures = await strategyPhase(model, measured, pipeline, { inputs, reference }, options, deps);
    if (!figures) return undefined;
    const seconds = (ms: number) => Math.round(ms / 100) / 10;
    Object.assign(figures.meta, { pool: basename(pool), elapsedS: { profile: seconds(liveStart - measureStart), strategies: seconds(performance.now() - liveStart) } });
    const results = join(options.outDir, `results-${model.name}.json`);
    write(results, `${JSON.stringify(figures, null, 2)}\n`, false, deps);
    return { model: model.name, pool, results, figures, elapsedMs: performance.now() - started };
  } finally {
    await pipeline.close();
  }
}

function write(file: string, text: string, partial: boolean, deps: TestbedDeps): void {
  writeFileSync(file, text);
  deps.written?.push({ file, partial });
}

/** Phase 1: per cut, `warmup` unrecorded requests, then every configuration of the cut `repetitions` times through the profiler. */
async function measurePhase(model: Prepared, pipeline: Pipeline, inputs: SyntheticFrame[], options: TestbedOptions, deps: TestbedDeps): Promise<MeasuredPhase> {
  const progress = workProgress(deps.io, `${model.name} profile`, model.measureMs);
  const warmup = await connectFrameClient({ mqttUrl: pipeline.url, sensorId: 'testbed-warmup', timeoutMs: options.timeoutMs, logger: deps.logger });
  const out: MeasuredPhase = { rows: [], errors: {}, unmeasured: [] };
  let before = 0;
  try {
    // Every cut's sessions first: phase 1 then runs with the memory phase 2 will have (all of the plan
    // loaded). Measured cut by cut instead, the first cuts ran beside a few sessions and came out up
    // to ~20% cheaper than the same configurations did in phase 2.
    for (const group of model.plan.groups) {
      for (let w = 0; w < options.warmup && !deps.signal?.aborted; w++) {
        // A warm-up answer is not used; one that does not come is the measurement's to report.
        await warmup.request({ model: model.name, budget_ms: 60_000, configuration: group.configurations[0], ...frameInputs(inputs[w % inputs.length]) }).catch(() => undefined);
      }
    }
    for (const [g, group] of model.plan.groups.entries()) {
      if (deps.signal?.aborted) break;
      const report = await measureConfigurations({
        mqttUrl: pipeline.url, model: model.name, modelSource: model.path, modelCacheDir: options.modelCacheDir, configurations: group.configurations,
        warmup: 0, repetitions: options.repetitions, seed: options.seed, timeoutMs: options.timeoutMs, sensorId: 'testbed-profile',
      }, { logger: deps.logger, signal: deps.signal, onProgress: (done, total) => progress.update(before + model.groupMs[g] * (done / total)) });
      before += model.groupMs[g];
      out.rows.push(...report.measured);
      for (const [code, n] of Object.entries(report.errors)) out.errors[code] = (out.errors[code] ?? 0) + n;
      out.unmeasured.push(...report.failed.map((f) => f.configuration));
      for (const f of report.failed) deps.io.stderr(`\n${model.name}: ${f.configuration} not measured: ${f.code} ${f.message}\n`);
    }
  } finally {
    await warmup.close();
  }
  // Stopped: the bar is left where it stopped (the CLI ends its line), not drawn as complete.
  if (deps.signal?.aborted) return out;
  progress.done();
  if (out.rows.length === 0) throw new DynasplitError(ErrorCodes.INFERENCE, `testbed: no configuration of ${model.name} could be measured`);
  return out;
}

/** Phase 1's pool, the runs not recorded (by code) and the configurations without a recorded run. */
interface MeasuredPhase { rows: PoolRow[]; errors: Record<string, number>; unmeasured: string[] }

/** Phase 2 (live strategies) and 3 (the oracle over the pool), and the figures of all. */
async function strategyPhase(
  model: Prepared, measured: MeasuredPhase, pipeline: Pipeline, data: { inputs: SyntheticFrame[]; reference: Answer[] }, options: TestbedOptions, deps: TestbedDeps,
): Promise<TestbedResults | undefined> {
  const { rows } = measured;
  // The policy says where its figures come from when the runs agree on it (schemas/pipeline.proto Policy.source).
  const sources = new Set(rows.map((r) => r.latencySource));
  const poolSource = sources.size === 1 ? [...sources][0] : '';
  const accuracyOf = options.accuracyFloor === undefined ? undefined : accuracyByCutAndCodec(rows, model.name);
  const tableOfPool = poolTable(rows, { model: model.name, accuracyFloor: options.accuracyFloor, accuracyOf });
  const budgets = budgetSequence(options.budgets, tableOfPool, options.seed, options.requests);
  const plans = strategyPlans(options.strategies, tableOfPool, { edgeClass: pipeline.edge.options.edgeClass, source: poolSource });
  const liveMs = liveCostMs(plans, tableOfPool, budgets);
  deps.onMeasured?.({ model: model.name, rows, table: tableOfPool, plans, budgets });
  // The first estimate chose over modelled figures; what the strategies choose over measured ones can differ a lot.
  deps.io.stderr(`${model.name}: the strategies' choices on the measured pool take ~${(liveMs / 60_000).toFixed(1)} min\n`);
  const progress = workProgress(deps.io, `${model.name} strategies`, liveMs);
  const live: Record<string, LiveRun> = {};
  const versions = { last: 0 };
  const publisher = await connectMqtt(pipeline.url, { clientId: `testbed-policy-${process.pid}` });
  try {
    for (const plan of plans) {
      if (plan.kind === 'oracle' || deps.signal?.aborted) continue;
      live[plan.name] = await runStrategy(plan, { model, budgets, data, pipeline, publisher, progress, table: tableOfPool, versions }, options, deps);
    }
    await publisher.publishAsync(topics.policy(model.name, pipeline.edge.options.edgeClass), Buffer.alloc(0), { qos: 1, retain: true });
  } finally {
    await publisher.endAsync();
  }
  if (deps.signal?.aborted) return undefined;
  progress.done();
  const meta = {
    model: model.name, seed: options.seed, budgets: options.budgetsLabel, requests: options.requests, edgeProfile: options.edgeProfile,
    cloudProfile: options.cloudProfile, repetitions: options.repetitions, space: options.space, accuracyFloor: options.accuracyFloor ?? null,
    profile: { configurations: model.plan.configurations.length, runs: rows.length, notRecorded: measured.errors, unmeasured: measured.unmeasured },
  };
  return testbedResults(plans, live, { rows, budgets, accuracyOf }, meta);
}

interface RunContext {
  model: Prepared;
  budgets: number[];
  data: { inputs: SyntheticFrame[]; reference: Answer[] };
  pipeline: Pipeline;
  publisher: MqttClient;
  progress: { add(ms: number): void };
  table: PoolTable;
  /** The last policy version published (versions only grow: the edge ignores an older one). */
  versions: { last: number };
}

async function runStrategy(plan: Exclude<StrategyPlan, { kind: 'oracle' }>, run: RunContext, options: TestbedOptions, deps: TestbedDeps): Promise<LiveRun> {
  const out: LiveRun = { records: [], latencySources: [], energySources: [], run: { run: plan.kind, unforced: 0, fallbacks: 0, failures: {} } };
  if (plan.kind === 'forced') out.run.configuration = plan.configuration.name;
  else {
    out.run.policy = await applyPolicy(plan, run);
    out.run.matchesPoolDecision = 0;
  }
  const median = new Map(run.table.aggregates.map((a) => [a.configuration.name, a.latencyMs]));
  // Each strategy starts on a quiet host: nothing of the previous one still computing beside its first request.
  await untilIdle(deps.signal);
  const sensor = await connectFrameClient({ mqttUrl: run.pipeline.url, sensorId: `testbed-${plan.name}`, timeoutMs: options.timeoutMs, logger: deps.logger });
  try {
    for (const [i, budgetMs] of run.budgets.entries()) {
      if (deps.signal?.aborted) break;
      const input = i % run.data.inputs.length;
      const frame: FrameProperties = { model: run.model.name, budget_ms: budgetMs, ...frameInputs(run.data.inputs[input]) };
      if (plan.kind === 'forced') frame.configuration = plan.configuration;
      const result = await answerOf(sensor.request(frame));
      const expected = plan.kind === 'forced' ? plan.configuration.name : plan.expected(budgetMs);
      run.progress.add(median.get(expected) ?? 0);
      if (typeof result === 'string' || result.error?.code) {
        const code = typeof result === 'string' ? result : result.error!.code!;
        out.run.failures[code] = (out.run.failures[code] ?? 0) + 1;
        continue;
      }
      out.records.push(recordOf(result, budgetMs, run.data.reference[input], resultClass(result, run.model.output, run.model.answerKind)));
      out.latencySources.push(result.latency?.source ?? '');
      out.energySources.push(result.energy?.source ?? '');
      if (!frame.configuration) out.run.unforced++;
      if (result.edge_fallback) out.run.fallbacks++;
      if (plan.kind === 'policy' && result.configuration?.name === expected) out.run.matchesPoolDecision!++;
    }
  } finally {
    await sensor.close();
  }
  return out;
}

/** A synthetic frame's tensors as Frame fields: the first input as `tensor`, the others in `inputs`. */
function frameInputs(input: SyntheticFrame): Pick<FrameProperties, 'tensor' | 'inputs'> {
  return { tensor: input.tensor, inputs: input.inputs };
}

/** The Result, or the code of why none came (DYNASPLIT_ERR_TIMEOUT). */
async function answerOf(request: Promise<{ result: Result }>): Promise<Result | string> {
  try {
    return (await request).result;
  } catch (err) {
    if (isDynasplitError(err)) return err.code;
    throw err;
  }
}

/** Publishes the policy retained on the model's policy topic (as the live optimizer does) and waits until the edge node has applied it and loaded its sessions. */
async function applyPolicy(plan: Extract<StrategyPlan, { kind: 'policy' }>, run: RunContext): Promise<NonNullable<StrategyRun['policy']>> {
  const { edge } = run.pipeline;
  // Numbered as optimizer/live.ts numbers them: seconds since the epoch, at least one more than the last.
  const version = run.versions.last = Math.max(run.versions.last + 1, Math.floor(Date.now() / 1000));
  const policy = { ...plan.policy, version, published_at_ms: Date.now() };
  await run.publisher.publishAsync(topics.policy(run.model.name, edge.options.edgeClass), Buffer.from(encodePolicy(policy)), { qos: 1, retain: true });
  const deadline = Date.now() + 10_000;
  while (edge.stats().policies.versions[run.model.name] !== version) {
    const refused = edge.stats().policies.refusals[run.model.name];
    if (refused?.version === version) {
      throw new DynasplitError(isErrorCode(refused.code) ? refused.code : ErrorCodes.BAD_POLICY, `testbed: the edge node refused policy version ${version} of ${run.model.name}: ${refused.message}`);
    }
    if (Date.now() > deadline) throw new DynasplitError(ErrorCodes.TIMEOUT, `testbed: the edge node did not apply policy version ${version} of ${run.model.name}`);
    await sleep(50);
  }
  // The node loads the policy's sessions in the background; runStrategy waits until the process is idle.
  return { version, rule: plan.rule, entries: (policy.entries ?? []).map((e) => e.configuration?.name ?? '') };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves once the process used under 10% of a core for 0.5 s (at most 30 s). */
async function untilIdle(signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last = process.cpuUsage();
  while (Date.now() < deadline && !signal?.aborted) {
    await sleep(500);
    const now = process.cpuUsage();
    const usedMs = (now.user - last.user + now.system - last.system) / 1000;
    last = now;
    if (usedMs < 50) return;
  }
}

/** Progress in estimated ms of work, so the ETA weighs slow (edge-heavy) requests as such. */
function workProgress(io: TestbedIo, label: string, totalMs: number): Progress & { add(ms: number): void } {
  const progress = createProgress({ write: io.stderr, isTTY: io.isTTY }, `${label} (est. work)`, Math.max(1, totalMs), (ms) => `${Math.round(ms / 1000)}s`);
  let done = 0;
  return {
    update: (ms, note) => { done = ms; progress.update(Math.min(ms, totalMs * 0.99), note); },
    add: (ms) => { done += ms; progress.update(Math.min(done, totalMs * 0.99)); },
    done: (note) => progress.done(note),
  };
}
