/**
 * A measurement run (the command is `dynasplit optimizer profile`, DynaSplit's word for it): measures
 * configurations on live edge and cloud nodes through the control channel — frames whose
 * `configuration` field makes the edge node run that configuration instead of its policy's choice
 * (schemas/pipeline.proto Frame.configuration), sent and answered through a FrameClient (client/) —
 * and turns each Result into a pool row. With `sample` < 1 only a seeded share of the space is
 * measured; the cost models are fitted to it (pareto/ fit) and the rest is predicted, marked 'modelled'.
 * With `search` the configurations measured are chosen as the runs come in, by the search on a
 * measuring budget that `optimizer search` runs over a recorded pool (pareto/ search, docs/optimizer.md).
 *
 * Rows of cloud-only configurations (cut 'input') carry the baseline mark 'cloud-only', and those of the
 * fastest edge-only configuration 'edge-only' (pareto/ baselines), so the evaluation finds its baselines.
 *
 * Who writes what: the edge node writes every request's metrics (these included) to its metrics
 * store, since it alone sees the whole request; the profiler writes only pool rows, never metrics, so
 * no request is counted twice.
 */
import { DynasplitError, ErrorCodes, silentLogger, stripUndefined, type Logger } from '../common/index.ts';
import { profileByName, type DeviceProfile } from '../hardware/index.ts';
import {
  answerKindOf, checkCard, cutRefusal, DEFAULT_MODEL_CACHE_DIR, inspectModel, loadModelCard, referenceClassesOf, resolveModel, resultClass, type Answer, type AnswerKind,
  type ModelInspection,
} from '../model/index.ts';
import { CLOUD_ONLY_CUT, EDGE_ONLY_CUT, type Configuration } from '../policy/index.ts';
import { connectFrameClient, type FrameClient } from '../client/index.ts';
import { Result } from '../schemas/index.ts';
import { syntheticFrames, type SyntheticFrame } from '../workload/index.ts';
import { type LinkModel, poolRow, type PoolRow, markBaselines, accuracyByCodec, configurationFields, DEFAULT_LINK, fitModel, heldOutError, predictedRow, sampleCount, sampleIndices, unpredictable, type FittedModel, type HeldOutError, type Measured, type ModelContext, knobsFromProfiles, profileCheck, buildSpace, configurationAt, cutsFromInspection, type KnobSet, budgetCount, searchRuns, type SearchStrategy, type Space } from '../pareto/index.ts';

export interface MeasureOptions {
  mqttUrl: string;
  /** Model name as the edge nodes serve it. */
  model: string;
  /** ONNX file or zoo name for the input shape, the cuts and the reference answers; default `model`. */
  modelSource?: string;
  modelCacheDir?: string;
  /** Card file to read instead of the one beside the model file (its dims bind the input shapes). */
  card?: string;
  /** Symbolic dim values (--dim), over the card's: as the edge nodes serving the model bind them. */
  dims?: Record<string, number>;
  /** Configurations to measure; default: the space of the edge and cloud profiles. */
  configurations?: Configuration[];
  /** Profile objects or names (hardware loadProfile); needed for the space and for predictions. */
  edge?: DeviceProfile | string;
  cloud?: DeviceProfile | string;
  /** Knob lists replacing the profiles' (the edge profile's rules still apply). */
  knobs?: Partial<KnobSet>;
  /** Cut names to keep ('input'/'cloud-only', 'output'/'edge-only', tensor names); default all. */
  cuts?: string[];
  /** Share of the configurations measured, 0..1 (seeded choice); default 1 = all. */
  sample: number;
  /**
   * Instead of `sample`: a search on a measuring budget over the profiles' space. `budget` is a
   * fraction of the space ('0.2', '20%') or a count ('50'); the rest is predicted as with `sample`.
   */
  search?: { budget: string; strategy: SearchStrategy };
  /** Runs per configuration not recorded (sessions, caches); default 1 */
  warmup: number;
  /** Recorded runs per configuration; default 3 */
  repetitions: number;
  seed: number;
  /** ms to wait for each Result before counting DYNASPLIT_ERR_TIMEOUT; default 30000 */
  timeoutMs: number;
  /** Latency budget of each frame, ms; default 60000, so no budget cuts a measurement short. */
  budgetMs: number;
  /** default `profiler-<pid>` */
  sensorId: string;
  /** Link assumed where the measurements cannot fit one; default 100 Mbit/s, 1 ms. */
  link: LinkModel;
}

export interface MeasureDeps {
  logger?: Logger;
  /** After every request: requests done, requests in all, ms left at the pace so far. */
  onProgress?: (done: number, total: number, etaMs: number) => void;
  /** Stops after the request in flight; the report holds what was measured. */
  signal?: AbortSignal;
}

export interface MeasureReport {
  model: string;
  sensorId: string;
  /** Configurations considered, measured (at least one run recorded), predicted, failed. */
  counts: { configurations: number; chosen: number; measured: number; predicted: number; failed: number };
  /** Recorded runs, one row each. */
  measured: PoolRow[];
  /** One row per configuration not measured, latency_source = energy_source = 'modelled'. */
  predicted: PoolRow[];
  /** Results not used, by code: the edge's DYNASPLIT_ERR_* codes, DYNASPLIT_ERR_TIMEOUT for no answer,
   * 'edge-fallback' (the cloud part did not run) and 'configuration-mismatch' (another configuration ran). */
  errors: Record<string, number>;
  /** Chosen configurations without a single recorded run (with the last reason), and configurations
   * neither measured nor predictable. */
  failed: { configuration: string; code: string; message: string }[];
  heldOut?: HeldOutError;
  /** The model fitted to every measured configuration, which predicted the rest (sample < 1). */
  fitted?: FittedModel;
  requests: number;
  aborted: boolean;
  elapsedMs: number;
}

const DEFAULTS = { sample: 1, warmup: 1, repetitions: 3, seed: 0, timeoutMs: 30_000, budgetMs: 60_000, link: DEFAULT_LINK };

export function parseMeasureOptions(partial: Partial<MeasureOptions> & Pick<MeasureOptions, 'mqttUrl' | 'model'>): MeasureOptions {
  const options = { ...DEFAULTS, sensorId: `profiler-${process.pid}`, ...stripUndefined(partial) } as MeasureOptions;
  const bad = (message: string) => new DynasplitError(ErrorCodes.BAD_ARGS, `profile: ${message}`);
  if (!(options.sample > 0 && options.sample <= 1)) throw bad(`sample must be within (0, 1], got ${options.sample}`);
  for (const key of ['warmup', 'repetitions', 'seed'] as const) {
    if (!Number.isInteger(options[key]) || options[key] < 0) throw bad(`${key} must be an integer >= 0, got ${options[key]}`);
  }
  if (options.repetitions < 1) throw bad('repetitions must be at least 1');
  if (!(options.timeoutMs > 0) || !(options.budgetMs > 0)) throw bad('timeoutMs and budgetMs must be > 0');
  if (!options.configurations && (!options.edge || !options.cloud)) throw bad('give configurations, or edge and cloud profiles for the space');
  if (options.sample < 1 && (!options.edge || !options.cloud)) throw bad('sample < 1 predicts the rest: it needs edge and cloud profiles');
  if (options.search && (options.configurations || options.sample < 1)) throw bad('a search chooses from the profiles\' space: give it without configurations and without sample');
  return options;
}

export async function measureConfigurations(partial: Partial<MeasureOptions> & Pick<MeasureOptions, 'mqttUrl' | 'model'>, deps: MeasureDeps = {}): Promise<MeasureReport> {
  const started = performance.now();
  const options = parseMeasureOptions(partial);
  const logger = (deps.logger ?? silentLogger()).child({ component: 'optimizer', node: options.sensorId });
  const path = await resolveModel(options.modelSource ?? options.model, { cacheDir: options.modelCacheDir ?? DEFAULT_MODEL_CACHE_DIR });
  const loaded = loadModelCard(path, { path: options.card, dims: options.dims });
  const inspection = await inspectModel(path, { dims: loaded.card.dims });
  checkCard(loaded, inspection);
  // The output whose answer is compared (model/reference.ts answerKind): a classification card's tensor, else (raw) the first.
  const output = loaded.card.output.kind === 'classification' ? loaded.card.output.tensor : undefined;
  const edge = typeof options.edge === 'string' ? await profileByName(options.edge) : options.edge;
  const cloud = typeof options.cloud === 'string' ? await profileByName(options.cloud) : options.cloud;
  const space = options.configurations ? undefined : spaceOf(inspection, edge!, cloud!, options);
  const all = options.configurations ?? Array.from(space!.indices, (index) => configurationAt(space!, index));
  if (all.length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'profile: no configurations to measure (the knobs and rules leave none)');
  const plan: Plan = options.search
    ? { space: space!, budget: budgetCount(options.search.budget, all.length), strategy: options.search.strategy, seed: options.seed }
    : sampleIndices(all.length, sampleCount(all.length, options.sample), options.seed, 'profile-sample').map((i) => all[i]);
  const chosen = Array.isArray(plan) ? plan.length : plan.budget;
  // Distinct synthetic frames (every input of the model in each), cycled; the unsplit model runs once
  // on each for the reference answers.
  const inputs = syntheticFrames(inspection.inputs, options.seed);
  const reference = await referenceClassesOf(path, inspection.inputs, inputs.map((x) => x.data), output);
  logger.info({ model: options.model, configurations: all.length, chosen, strategy: options.search?.strategy }, 'profiling');
  const run = await measureAll(plan, options, { inputs, reference, output, kind: answerKindOf(inspection.outputs, output) }, deps, logger);
  const measured = run.measured.filter((m) => m.rows.length > 0);
  const report: MeasureReport = {
    model: options.model,
    sensorId: options.sensorId,
    counts: { configurations: all.length, chosen, measured: measured.length, predicted: 0, failed: run.failed.length },
    measured: measured.flatMap((m) => m.rows),
    predicted: [],
    errors: run.errors,
    failed: run.failed,
    requests: run.requests,
    aborted: run.aborted,
    elapsedMs: 0,
  };
  const sampled = options.sample < 1 || (options.search !== undefined && chosen < all.length);
  if (sampled && edge && cloud && measured.length > 0) predictRest(report, all, measured, { inspection, edge, cloud }, options);
  markBaselines(report.measured, report.predicted);
  report.elapsedMs = performance.now() - started;
  logger.info({ ...report.counts, errors: report.errors, heldOut: report.heldOut }, 'profiling finished');
  return report;
}

/**
 * Fits the model to the measured configurations, reports its error on a held-out share, and predicts
 * every configuration neither measured nor failed (a chosen one the run did not reach is predicted).
 */
function predictRest(report: MeasureReport, all: Configuration[], measured: Measured[], ctx: ModelContext, options: MeasureOptions): void {
  // A configuration the profiles cannot describe (a frequency not among the DVFS steps) has no prediction.
  const usable = measured.filter((m) => unpredictable(m.config, ctx) === undefined);
  if (usable.length === 0) return;
  const fitted = fitModel(usable, ctx, options.link);
  const accuracy = accuracyByCodec(usable);
  const skip = new Set([...measured.map((m) => m.config.name), ...report.failed.map((f) => f.configuration)]);
  for (const config of all.filter((c) => !skip.has(c.name))) {
    const reason = unpredictable(config, ctx);
    if (reason) report.failed.push({ configuration: config.name, code: reason.code, message: `not measured, and cannot be predicted: ${reason.message}` });
    else report.predicted.push(predictedRow(options.model, config, ctx, fitted, accuracy));
  }
  Object.assign(report.counts, { predicted: report.predicted.length, failed: report.failed.length });
  report.heldOut = heldOutError(usable, ctx, options.seed, options.link);
  report.fitted = fitted;
}

/** The space of the profiles' knobs (replaced by options.knobs), cuts restricted, the edge's rules applied. */
function spaceOf(inspection: ModelInspection, edge: DeviceProfile, cloud: DeviceProfile, options: MeasureOptions): Space {
  const aliases: Record<string, string> = { 'cloud-only': CLOUD_ONLY_CUT, 'edge-only': EDGE_ONLY_CUT };
  let cuts = cutsFromInspection(inspection);
  if (options.cuts) {
    const wanted = options.cuts.map((c) => aliases[c] ?? c);
    const unknown = wanted.filter((w) => !cuts.some((c) => c.name === w));
    if (unknown.length > 0) {
      const reasons = unknown.map((cut) => cutRefusal(inspection.nonFloatCutPoints, options.model, cut));
      throw new DynasplitError(ErrorCodes.UNKNOWN_CUT, `profile: ${reasons.join('; ')}`, { details: { cuts: unknown } });
    }
    cuts = cuts.filter((c) => wanted.includes(c.name));
  }
  const knobs = { ...knobsFromProfiles(edge, cloud), ...stripUndefined(options.knobs ?? {}) };
  return buildSpace(cuts, knobs, profileCheck(edge));
}

interface Inputs { inputs: SyntheticFrame[]; reference: Answer[]; output?: string; kind: AnswerKind }
/** What to measure: a list, or a search over the space that decides as the runs come in. */
type Plan = Configuration[] | { space: Space; budget: number; strategy: SearchStrategy; seed: number };
interface RunOutcome { measured: Measured[]; errors: Record<string, number>; failed: MeasureReport['failed']; requests: number; aborted: boolean }

/** Sends each configuration's frames one at a time and turns the Results into rows. */
async function measureAll(plan: Plan, options: MeasureOptions, inputs: Inputs, deps: MeasureDeps, logger: Logger): Promise<RunOutcome> {
  const out: RunOutcome = { measured: [], errors: {}, failed: [], requests: 0, aborted: false };
  const total = (Array.isArray(plan) ? plan.length : plan.budget) * (options.warmup + options.repetitions);
  const started = performance.now();
  let done = 0;
  const progress = (n: number) => {
    done += n;
    const elapsed = performance.now() - started;
    deps.onProgress?.(done, total, done > 0 ? (elapsed / done) * (total - done) : NaN);
  };
  const client = await connectFrameClient({ mqttUrl: options.mqttUrl, sensorId: options.sensorId, timeoutMs: options.timeoutMs, logger });
  const measure = async (config: Configuration): Promise<PoolRow[]> => {
    const { rows, last } = await measureOne(config, { client, options, inputs, out, progress, signal: deps.signal, logger });
    out.measured.push({ config, rows });
    if (rows.length === 0 && last) out.failed.push({ configuration: config.name, ...last });
    return rows;
  };
  try {
    if (Array.isArray(plan)) {
      for (const config of plan) {
        if (deps.signal?.aborted) break;
        await measure(config);
      }
    } else {
      // Once aborted, the search spends what is left of its budget without a run (nothing recorded).
      await searchRuns(plan.space, async (config) => (deps.signal?.aborted ? [] : measure(config)), plan);
    }
    out.aborted = deps.signal?.aborted === true;
  } finally {
    await client.close();
  }
  return out;
}

interface RunContext {
  client: FrameClient;
  options: MeasureOptions;
  inputs: Inputs;
  out: RunOutcome;
  progress: (requests: number) => void;
  signal?: AbortSignal;
  logger: Logger;
}

/** Warm-up then recorded runs of one configuration; gives up at a refusal or a second transient failure. */
async function measureOne(config: Configuration, run: RunContext): Promise<{ rows: PoolRow[]; last?: { code: string; message: string } }> {
  const { options, inputs, out } = run;
  const runs = options.warmup + options.repetitions;
  const rows: PoolRow[] = [];
  let failures = 0;
  let last: { code: string; message: string } | undefined;
  for (let r = 0; r < runs && !run.signal?.aborted; r++) {
    const input = out.requests++ % inputs.inputs.length;
    const answer = await ask(run, config, inputs.inputs[input]);
    run.progress(1);
    const verdict = judge(answer, config);
    if (!verdict) {
      if (r >= options.warmup) rows.push(rowOf(options.model, config, answer, resultClass(answer, inputs.output, inputs.kind) === inputs.reference[input] ? 1 : 0));
      continue;
    }
    out.errors[verdict.code] = (out.errors[verdict.code] ?? 0) + 1;
    last = { code: verdict.code, message: verdict.message };
    run.logger.warn({ configuration: config.name, ...verdict }, 'profiling run not recorded');
    // A configuration the edge refuses will refuse again: move on (a transient failure gets one more try).
    if (!verdict.retryable || ++failures >= 2) {
      run.progress(runs - r - 1);
      break;
    }
  }
  return { rows, last };
}

/** One frame forcing `config`; a timeout (or any coded failure to get an answer) comes back as an error Result. */
async function ask(run: RunContext, config: Configuration, input: SyntheticFrame): Promise<Result> {
  try {
    const frame = { model: run.options.model, budget_ms: run.options.budgetMs, tensor: input.tensor, inputs: input.inputs, configuration: config };
    const { result } = await run.client.request(frame);
    return result;
  } catch (err) {
    if (!(err instanceof DynasplitError)) throw err;
    return Result.create({ error: { code: err.code, message: err.message, retryable: err.retryable } });
  }
}

/** Why a Result cannot be recorded, or undefined when it can. */
function judge(result: Result, config: Configuration): { code: string; message: string; retryable: boolean } | undefined {
  if (result.error?.code) return { code: result.error.code, message: result.error.message ?? '', retryable: result.error.retryable === true };
  if (result.configuration?.name !== config.name) {
    return { code: 'configuration-mismatch', message: `asked for ${config.name}, ${result.configuration?.name ?? 'nothing'} ran`, retryable: false };
  }
  if (result.edge_fallback) return { code: 'edge-fallback', message: 'the cloud did not answer; the edge ran the tail', retryable: true };
  return undefined;
}

function rowOf(model: string, config: Configuration, result: Result, accuracy: number): PoolRow {
  const latency = result.latency ?? {};
  const energy = result.energy ?? {};
  return poolRow({
    ...configurationFields(model, config),
    latencyMs: latency.end_to_end_ms ?? 0,
    energyJ: energy.source ? (energy.joules ?? 0) : 0,
    accuracy,
    edgeComputeMs: latency.edge_compute_ms ?? NaN,
    transferMs: latency.transfer_ms ?? NaN,
    cloudComputeMs: latency.cloud_compute_ms ?? NaN,
    tensorBytes: result.tensor_bytes ?? 0,
    latencySource: latency.source ?? '',
    energySource: energy.source ?? '',
  });
}
