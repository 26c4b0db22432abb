/** `dynasplit edge|cloud|sensor`: each component as its own process, configured by flags and env. */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { startCloudWorker } from '../cloud-worker/index.ts';
import { startEdgeNode } from '../edge-node/index.ts';
import { parseDimArgs } from '../model/index.ts';
import { parseCardSpecs, type NodeOptions } from '../node-runtime/index.ts';
import { runSensor } from '../sensor/index.ts';
import { BUDGET_SPECS } from '../workload/index.ts';
import { intOption, numeric, servedModelName, stringOption, type Command, type CommandArgs } from './command.ts';
import {
  ENERGY_OPTION, energyMeterFlag, METRICS_OPTION, metricsStoreFlag, MQTT_TLS_OPTIONS, mqttTlsFlags, NATS_AUTH_OPTIONS, natsAuthFlags, PROFILE_OPTION,
  flagOrEnv, LOG_LEVEL_OPTION, loggerFor, MODEL_OPTION, modelCacheDir, modelsFlag, MQTT_OPTION, mqttUrlFlag, NATS_OPTION, numberFlag,
  TRANSPORT_OPTION, transportFlag, serveUntilSignal,
} from './env.ts';
import { sensorProgress, summaryText } from './summary-format.ts';

/** Options edge nodes and cloud workers share. */
const NODE_OPTIONS = {
  mqtt: MQTT_OPTION,
  ...MQTT_TLS_OPTIONS,
  nats: NATS_OPTION,
  ...NATS_AUTH_OPTIONS,
  transport: TRANSPORT_OPTION,
  model: MODEL_OPTION,
  card: { type: 'string', multiple: true, value: '[NAME=]FILE', description: 'model card of a served model (default: NAME.card.json beside the model, if there; repeatable)' },
  dim: { type: 'string', multiple: true, value: 'NAME=V', description: "value of a symbolic dim of the models, over their cards' (repeatable)" },
  threads: { type: 'string', value: 'N', description: 'onnxruntime threads (default 0: one per core)' },
  'inference-thread': { type: 'string', value: 'WHERE', description: 'where models run: worker (a worker thread, the event loop stays free) or main (default main)' },
  'memory-budget-mb': { type: 'string', value: 'MIB', description: 'model weights kept loaded, MiB; beyond it idle sessions are released, least recently used first (default: edge 1024, cloud 4096)' },
  profile: PROFILE_OPTION,
  'energy-meter': ENERGY_OPTION,
  'power-topic': { type: 'string', value: 'TOPIC', description: 'MQTT topic of the smart plug measuring this node (with --energy-meter mqtt)' },
  'log-level': LOG_LEVEL_OPTION,
} as const satisfies Command['options'];

/** The settings edge nodes and cloud workers share, from flags and the environment. */
async function nodeSettings(args: CommandArgs) {
  const models = modelsFlag(args);
  return {
    mqttTls: await mqttTlsFlags(args),
    natsAuth: natsAuthFlags(args),
    mqttUrl: mqttUrlFlag(args),
    natsUrl: flagOrEnv(args, 'nats', 'DYNASPLIT_NATS_URL'),
    transport: transportFlag(args),
    models,
    cards: parseCardSpecs(listOption(args, 'card'), Object.keys(models ?? { 'vgg16-tiny': '' })),
    dims: parseDimArgs(args.values.dim),
    group: stringOption(args, 'group'),
    threads: numberFlag(args, 'threads'),
    inferenceThread: stringOption(args, 'inference-thread') as NodeOptions['inferenceThread'],
    memoryBudgetMb: numberFlag(args, 'memory-budget-mb'),
    modelCacheDir: modelCacheDir(),
    profile: flagOrEnv(args, 'profile', 'DYNASPLIT_PROFILE'),
    energyMeter: energyMeterFlag(args),
    powerMeterTopic: stringOption(args, 'power-topic'),
  };
}

const edge: Command = {
  path: ['edge'],
  summary: 'run an edge node: frames in over MQTT, head inference, tail in the cloud, results out',
  usage: '',
  positionals: { min: 0, max: 0 },
  options: {
    id: { type: 'string', value: 'ID', description: 'edge node id (env DYNASPLIT_EDGE_ID; default edge-HOST-PID)' },
    class: { type: 'string', value: 'CLASS', description: 'edge class whose policies to follow (env DYNASPLIT_EDGE_CLASS; default default)' },
    group: { type: 'string', value: 'NAME', description: 'shared-subscription group of the frame stream (default edge)' },
    concurrency: { type: 'string', value: 'N', description: 'frames computed on the edge at once (default 2)' },
    'max-in-flight': { type: 'string', value: 'N', description: 'frames in progress at once, computing or waiting for the cloud (default 16)' },
    'state-dir': { type: 'string', value: 'DIR', description: 'keep a journal and the node id here: nothing acknowledged is lost across a restart, persistent MQTT session (env DYNASPLIT_EDGE_STATE_DIR; default none)' },
    'max-sensor-rate': { type: 'string', value: 'HZ', description: 'frames per second one sensor may send; more are refused (default: no limit)' },
    'max-sensor-in-flight': { type: 'string', value: 'N', description: 'frames of one sensor in progress at once (default 8)' },
    'max-sensor-queue': { type: 'string', value: 'N', description: 'frames of one sensor waiting; more are refused (default 192)' },
    'journal-max-mb': { type: 'string', value: 'MIB', description: 'frames in progress and results remembered, MiB; the journal stays below about three times this (default 128)' },
    'max-replays': { type: 'string', value: 'N', description: 'restarts a journaled frame is run again before it is answered DYNASPLIT_ERR_REPLAY_LIMIT (default 3)' },
    'close-grace-ms': { type: 'string', value: 'MS', description: 'on SIGTERM, wait this long for frames in progress and the last results\' acknowledgements, then stop anyway (default 10000)' },
    limit: { type: 'string', multiple: true, value: 'NAME=N', description: 'a frame field limit, e.g. requestIdBytes=256 (repeatable; names and defaults: docs/security.md)' },
    'agreement-sample-rate': { type: 'string', value: 'R', description: 'share of split requests (0..1) whose result is checked against the unsplit model for top-1 agreement, in a worker thread beside the serving (default 0.05; 0: none)' },
    // The edge node writes each request's metrics: it alone sees the whole request, the worker's share included.
    metrics: METRICS_OPTION,
    ...NODE_OPTIONS,
  },
  async run(args) {
    const settings = await nodeSettings(args);
    const logger = loggerFor(args);
    const metrics = metricsStoreFlag(args, logger);
    await metrics.ready(); // a store that cannot take writes stops the command here, with the fix in one line
    const node = await startEdgeNode({
      edgeId: flagOrEnv(args, 'id', 'DYNASPLIT_EDGE_ID'),
      edgeClass: flagOrEnv(args, 'class', 'DYNASPLIT_EDGE_CLASS'),
      concurrency: numberFlag(args, 'concurrency'),
      maxInFlight: numberFlag(args, 'max-in-flight'),
      stateDir: flagOrEnv(args, 'state-dir', 'DYNASPLIT_EDGE_STATE_DIR'),
      maxSensorRate: numberFlag(args, 'max-sensor-rate'),
      maxSensorInFlight: numberFlag(args, 'max-sensor-in-flight'),
      maxSensorQueue: numberFlag(args, 'max-sensor-queue'),
      journalMaxBytes: mebibytes(numberFlag(args, 'journal-max-mb')),
      maxReplays: numberFlag(args, 'max-replays'),
      closeGraceMs: numberFlag(args, 'close-grace-ms'),
      limits: limitsFlag(args),
      agreementSampleRate: numberFlag(args, 'agreement-sample-rate'),
      ...settings,
    }, { logger, metrics });
    return serveUntilSignal(logger, () => node.close(), () => metrics.close());
  },
};

function listOption(args: CommandArgs, name: string): string[] {
  const raw = args.values[name];
  return Array.isArray(raw) ? raw.map(String) : raw === undefined ? [] : [String(raw)];
}

function mebibytes(mib: number | undefined): number | undefined {
  return mib === undefined ? undefined : Math.round(mib * 1024 * 1024);
}

/** `--limit requestIdBytes=64 --limit maxBudgetMs=60000` as frame limits (names checked by parseEdgeOptions). */
function limitsFlag(args: CommandArgs): Record<string, number> | undefined {
  const raw = args.values.limit;
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  return Object.fromEntries(raw.map(String).map((entry) => {
    const [name, value] = entry.split('=');
    const n = numeric(value);
    if (!name || value === undefined || !Number.isFinite(n)) throw new DynasplitError(ErrorCodes.BAD_ARGS, `--limit takes NAME=NUMBER, got '${entry}'`);
    return [name, n];
  }));
}

const cloud: Command = {
  path: ['cloud'],
  summary: 'run a cloud worker: serves model tails to edge nodes (workers share the load)',
  usage: '',
  positionals: { min: 0, max: 0 },
  options: {
    id: { type: 'string', value: 'ID', description: 'worker id (env DYNASPLIT_WORKER_ID; default cloud-HOST-PID)' },
    group: { type: 'string', value: 'NAME', description: 'worker group sharing requests (default cloud)' },
    provider: { type: 'string', value: 'EP', description: "onnxruntime execution provider, e.g. cuda (falls back to cpu, saying so; default cpu)" },
    ...NODE_OPTIONS,
  },
  async run(args) {
    const settings = await nodeSettings(args);
    const logger = loggerFor(args);
    const worker = await startCloudWorker({
      workerId: flagOrEnv(args, 'id', 'DYNASPLIT_WORKER_ID'),
      executionProvider: stringOption(args, 'provider'),
      ...settings,
    }, { logger });
    return serveUntilSignal(logger, () => worker.close());
  },
};

const sensor: Command = {
  path: ['sensor'],
  summary: 'publish frames at a rate with latency budgets, collect results, print a summary',
  usage: '',
  details: 'Waits first for an edge node serving the model (--wait-for-edge). Exit status 0 when every frame was answered and at least one\n'
    + 'with a prediction; 1 when a frame went unanswered or every answer was an error (the summary counts them by code).',
  positionals: { min: 0, max: 0 },
  options: {
    id: { type: 'string', value: 'ID', description: 'sensor id (env DYNASPLIT_SENSOR_ID; default sensor-1)' },
    mqtt: MQTT_OPTION,
    ...MQTT_TLS_OPTIONS,
    model: { type: 'string', value: 'NAME', description: 'model to request (default vgg16-tiny)' },
    'model-file': { type: 'string', value: 'FILE', description: "where to read the model's inputs and card (default: the zoo model of that name)" },
    card: { type: 'string', value: 'FILE', description: 'model card: image preprocessing, dims (default: beside the model file, if there)' },
    dim: { type: 'string', multiple: true, value: 'NAME=V', description: "value of a symbolic dim of the model, over its card's (repeatable)" },
    count: { type: 'string', value: 'N', description: 'frames to send (default 200)' },
    rate: { type: 'string', value: 'HZ', description: 'frames per second (default 50)' },
    budgets: { type: 'string', value: 'DIST', description: `latency budgets, ms: ${BUDGET_SPECS} (default uniform:5:50)` },
    images: { type: 'string', value: 'DIR', description: 'send the JPEG/PNG images of DIR (default: synthetic tensors)' },
    encoded: { type: 'boolean', description: 'send images encoded, for the edge to preprocess' },
    seed: { type: 'string', value: 'N', description: 'seed of budgets and synthetic inputs (default 1)' },
    drain: { type: 'string', value: 'MS', description: 'wait this long for results after the last frame (default 10000, or the largest budget sent + 5000)' },
    'wait-for-edge': { type: 'string', value: 'MS', description: 'wait up to MS for an edge node serving the model before the first frame; 0: send at once (default 30000)' },
    'persistent-session': { type: 'boolean', description: 'a persistent MQTT session (client id ID-session): results published while the broker restarts are not lost' },
    json: { type: 'boolean', description: 'print the summary as JSON on stdout' },
    'log-level': LOG_LEVEL_OPTION,
  },
  async run(args, io) {
    const mqttUrl = mqttUrlFlag(args);
    const logger = loggerFor(args, 'warn');
    const summary = await runSensor({
      sensorId: flagOrEnv(args, 'id', 'DYNASPLIT_SENSOR_ID'),
      mqttUrl,
      mqttTls: await mqttTlsFlags(args),
      model: servedModelName(args),
      modelSource: stringOption(args, 'model-file'),
      card: stringOption(args, 'card'),
      dims: parseDimArgs(args.values.dim),
      count: numberFlag(args, 'count'),
      rate: numberFlag(args, 'rate'),
      budgets: stringOption(args, 'budgets'),
      imagesDir: stringOption(args, 'images'),
      sendEncoded: args.values.encoded === true,
      seed: args.values.seed === undefined ? undefined : intOption(args, 'seed', 1),
      waitForEdgeMs: numberFlag(args, 'wait-for-edge'),
      drainMs: numberFlag(args, 'drain'),
      persistentSession: args.values['persistent-session'] === true,
      modelCacheDir: modelCacheDir(),
    }, { logger, onProgress: sensorProgress(io) });
    io.stdout(args.values.json ? `${JSON.stringify(summary, null, 2)}\n` : summaryText(summary));
    // A run in which no frame got a prediction failed, even when every frame was answered (with errors).
    return summary.results + summary.errors === summary.requests && summary.results > 0 ? 0 : 1;
  },
};

export const componentCommands: Command[] = [edge, cloud, sensor];
