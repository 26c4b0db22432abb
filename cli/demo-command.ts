/**
 * `dynasplit demo` (`npm start`): DynaSplit's loop on the embedded default, as a small composition of
 * the testbed (eval/testbed/): an aedes broker on an ephemeral loopback port, a cloud worker and an edge
 * node emulating device profiles, real ONNX inference and real protobuf over MQTT. (1) Explore: measure
 * a reduced space of configurations through the control channel; (2) the offline phase: the measured
 * pool's Pareto front becomes the policy, printed; (3) serve the same frames and budgets under the
 * policy (the edge decides per frame) and under static configurations forced on every frame; then the
 * closing table (demo-format.ts). docs/demo.md.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { runTestbed, type TestbedOptions } from '../eval/testbed/index.ts';
import { HOST_PROFILE, loadProfile } from '../hardware/index.ts';
import { isZooModel, ZOO_MODELS } from '../model/index.ts';
import { BUDGET_SPECS, readBudgets } from '../workload/index.ts';
import { intOption, stringOption, type Command, type CommandArgs } from './command.ts';
import { closingText, DEMO_STRATEGIES, demoDocument, explorationOf, explorationText, type Exploration } from './demo-format.ts';
import { LOG_LEVEL_OPTION, loggerFor, METRICS_OPTION, metricsStoreFlag, modelCacheDir } from './env.ts';

/**
 * The defaults, chosen in docs/demo.md: VGG16's layers on 64x64 input (the full model's cut shapes and
 * FLOP shares at 1/12 of its cost: modelled energies large enough that the host's scheduling noise does
 * not decide the comparison), and budgets (ms) above the latencies a busy two-core host measures for
 * every configuration (its loopback transfers and scheduler stalls, up to ~250 ms), so which budgets
 * are met is not decided by the host's stalls. Tighter ones would not show per-request choices here:
 * in these profiles the cheapest configuration (a Coral split, ~12 ms) is within a few ms of the fastest.
 */
const DEFAULTS = { model: 'vgg16-64', count: 50, budgets: 'uniform:300:900', seed: 1, repetitions: 2, edgeProfile: 'rpi4', cloudProfile: 'gpu-server' };

/**
 * Explored: 5 cut points spread over the model (VGG16: its pooling layers) plus cloud-only and
 * edge-only, the Pi's highest clock on all cores (the lowest is never cheaper in the profiles:
 * docs/evaluation.md), its CPU and the Coral at full clock, fp32 and int8 on the link, the GPU in the
 * cloud: 21 configurations of vgg16-64.
 */
const DEMO_SPACE = 'cuts=5;frequencies=max;threads=max;accelerators=none,coral-usb:max;codecs=fp32,fp16;cloud=gpu';
/** Other devices: every accelerator mode and cloud mode they have (a Coral or a GPU mode they lack would be refused). */
const OTHER_DEVICES_SPACE = 'cuts=5;frequencies=max;threads=max;accelerators=all;codecs=fp32,fp16;cloud=all';

/** ms to wait for each result before counting it as unanswered. */
const TIMEOUT_MS = 10_000;

export const demoCommand: Command = {
  path: ['demo'],
  summary: "DynaSplit's loop in one process: explore configurations, build the front and policy, serve frames under it against static strategies",
  usage: '',
  positionals: { min: 0, max: 0 },
  options: {
    model: { type: 'string', value: 'NAME|FILE', description: 'zoo model (generated on first use and cached), model.onnx, or NAME=model.onnx', default: DEFAULTS.model },
    count: { type: 'string', value: 'N', description: 'frames served per strategy (the same frames and budgets for each)', default: String(DEFAULTS.count) },
    budgets: { type: 'string', value: 'DIST|FILE', description: `latency budgets, ms: ${BUDGET_SPECS}`, default: DEFAULTS.budgets },
    seed: { type: 'string', value: 'S', description: 'seeds the inputs and the budgets', default: String(DEFAULTS.seed) },
    repetitions: { type: 'string', value: 'R', description: 'runs of each configuration in the exploration', default: String(DEFAULTS.repetitions) },
    'edge-profile': { type: 'string', value: 'NAME', description: 'device the edge node emulates (host: this machine as it is)', default: DEFAULTS.edgeProfile },
    'cloud-profile': { type: 'string', value: 'NAME', description: 'device the cloud worker emulates (host: this machine as it is)', default: DEFAULTS.cloudProfile },
    out: { type: 'string', value: 'DIR', description: 'keep the exploration\'s pool (pool-MODEL.csv) and the results (results-MODEL.json) there' },
    metrics: METRICS_OPTION,
    json: { type: 'boolean', description: 'print the result as JSON on stdout (docs/demo.md)' },
    'log-level': { ...LOG_LEVEL_OPTION, default: 'warn' },
  },
  details: 'Exploration: the configurations of a reduced space, each measured --repetitions times on the pipeline.\n' +
    'The measured front becomes a policy (energy-first: the cheapest configuration whose latency fits the budget),\n' +
    'published to the edge node as the optimizer publishes it. Then the same --count frames are served under the\n' +
    'policy and under static strategies forced on every frame: cloud-only, edge-only and the configuration the\n' +
    'exploration found cheapest (the best static one). By default the edge node emulates a Raspberry Pi 4 with a\n' +
    "Coral USB TPU and the cloud worker a GPU server: compute times are dilated to the devices' (emulated), energy\n" +
    'comes from their profiles (modelled). docs/demo.md.',
  async run(args, io) {
    // Every flag is checked before anything starts (a model generated, a port opened).
    const logger = loggerFor(args, 'warn');
    const options = demoOptions(args);
    const metrics = metricsStoreFlag(args, logger);
    const keep = stringOption(args, 'out');
    const outDir = keep ?? mkdtempSync(join(tmpdir(), 'dynasplit-demo-'));
    const model = Object.keys(options.models)[0];
    const json = args.values.json === true;
    io.stderr(`demo: DynaSplit's loop on ${model} in this process: embedded MQTT broker, cloud worker emulating ${options.cloudProfile}, ` +
      `edge node emulating ${options.edgeProfile}; explore, then serve ${options.requests} frames per strategy\n`);
    let exploration: Exploration | undefined;
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    const started = performance.now();
    try {
      const [outcome] = await runTestbed({ ...options, outDir }, {
        logger, metrics, io, signal: abort.signal,
        onMeasured: (measured) => {
          exploration = explorationOf(measured);
          if (!json) io.stdout(explorationText(measured.model, exploration, options.repetitions));
        },
      });
      if (abort.signal.aborted || !outcome || !exploration) {
        io.stderr('demo: interrupted; nothing is printed for a loop cut short\n');
        return 130;
      }
      const doc = demoDocument(outcome.figures, exploration, {
        devices: { edge: options.edgeProfile, cloud: options.cloudProfile },
        workload: { requests: options.requests, budgets: options.budgetsLabel, seed: options.seed },
        elapsedMs: performance.now() - started,
      });
      io.stdout(json ? `${JSON.stringify(doc, null, 2)}\n` : closingText(doc));
      if (keep) io.stderr(`files: ${outcome.pool}, ${outcome.results}\n`);
      const unanswered = Object.values(doc.served).some((s) => (s.failures[ErrorCodes.TIMEOUT] ?? 0) > 0);
      return unanswered ? 1 : 0;
    } finally {
      process.off('SIGINT', stop);
      await metrics.close();
      if (!keep) rmSync(outDir, { recursive: true, force: true });
    }
  },
};

/** The testbed's options for the demo, every flag checked (BAD_ARGS, UNKNOWN_MODEL, FILE_NOT_FOUND). */
function demoOptions(args: CommandArgs): Omit<TestbedOptions, 'outDir'> {
  const count = intOption(args, 'count', DEFAULTS.count);
  const repetitions = intOption(args, 'repetitions', DEFAULTS.repetitions);
  if (count < 1 || repetitions < 1) throw new DynasplitError(ErrorCodes.BAD_ARGS, '--count and --repetitions must be at least 1');
  const spec = stringOption(args, 'budgets') ?? DEFAULTS.budgets;
  const edgeProfile = stringOption(args, 'edge-profile') ?? DEFAULTS.edgeProfile;
  const cloudProfile = stringOption(args, 'cloud-profile') ?? DEFAULTS.cloudProfile;
  for (const profile of [edgeProfile, cloudProfile]) if (profile !== HOST_PROFILE) loadProfile(profile);
  return {
    models: modelFlag(stringOption(args, 'model') ?? DEFAULTS.model), requests: count, budgets: readBudgets(spec), budgetsLabel: spec,
    seed: intOption(args, 'seed', DEFAULTS.seed), edgeProfile, cloudProfile, repetitions, warmup: 1,
    space: edgeProfile === DEFAULTS.edgeProfile && cloudProfile === DEFAULTS.cloudProfile ? DEMO_SPACE : OTHER_DEVICES_SPACE,
    strategies: [...DEMO_STRATEGIES], timeoutMs: TIMEOUT_MS, modelCacheDir: modelCacheDir(),
  };
}

/** `--model`: a zoo name, an ONNX file (named after it), or NAME=FILE; a name that is neither lists the zoo. */
export function modelFlag(value: string): Record<string, string> {
  const [name, ...rest] = value.split('=');
  const file = rest.join('=');
  if (rest.length > 0) {
    if (!name || !file) throw new DynasplitError(ErrorCodes.BAD_ARGS, `--model ${value}: expected NAME=FILE`);
    return { [name]: existing(file) };
  }
  if (isZooModel(value)) return { [value]: value };
  const looksLikeFile = value.includes('/') || value.includes('\\') || value.endsWith('.onnx');
  if (!looksLikeFile) {
    throw new DynasplitError(ErrorCodes.UNKNOWN_MODEL, `unknown zoo model '${value}'; zoo models: ${ZOO_MODELS.join(', ')} (or give an .onnx file)`,
      { details: { model: value, valid: [...ZOO_MODELS] } });
  }
  return { [basename(value).replace(/\.onnx$/, '')]: existing(value) };
}

function existing(file: string): string {
  if (!existsSync(file)) throw new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `--model: ${file} does not exist`, { details: { file } });
  return file;
}
