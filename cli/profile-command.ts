/**
 * `dynasplit optimizer profile`: measures configurations on running edge and cloud nodes through the
 * control channel (or, with --local, on an embedded pipeline started here, as `dynasplit demo` does:
 * the same code path), predicts the rest when only a sample is measured, and writes the pool.
 * The edge node writes the requests' metrics; this command writes only the pool file.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { startBroker } from '../broker/index.ts';
import { startCloudWorker } from '../cloud-worker/index.ts';
import { DynasplitError, ErrorCodes, progressCallback, type Logger } from '../common/index.ts';
import { processHost } from '../hardware/index.ts';
import { SEARCH_STRATEGIES, writePool, type FittedModel, type SearchStrategy } from '../pareto/index.ts';
import { measureConfigurations, type MeasureReport } from '../optimizer/index.ts';
import { startEdgeNode } from '../edge-node/index.ts';
import { parseDimArgs } from '../model/index.ts';
import { DEFAULT_MQTT_URL } from '../transport/index.ts';
import { intOption, prepareOutFile, servedModelName, stringOption, type Command, type CommandArgs, type Io } from './command.ts';
import { LOG_LEVEL_OPTION, loggerFor, modelCacheDir, MQTT_OPTION, mqttUrlFlag, numberFlag } from './env.ts';
import { table } from './format.ts';
import { interruptedLine, INTERRUPTED_EXIT, onInterrupt, partialPath } from './interrupt.ts';

export const profileCommand: Command = {
  path: ['optimizer', 'profile'],
  summary: 'measure configurations on live nodes through the control channel and write a measurement pool',
  usage: '',
  positionals: { min: 0, max: 0 },
  options: {
    mqtt: MQTT_OPTION,
    model: { type: 'string', value: 'NAME', description: 'model as the edge nodes serve it' },
    'model-file': { type: 'string', value: 'FILE', description: 'ONNX file of that model, for its shape, cuts and reference answers (default: NAME as a zoo model)' },
    card: { type: 'string', value: 'FILE', description: 'model card of that model: its dims bind the inputs\' shapes (default: beside the model file, if there)' },
    dim: { type: 'string', multiple: true, value: 'NAME=V', description: "value of a symbolic dim of the model, over its card's, as the edge nodes bind it (repeatable)" },
    edge: { type: 'string', value: 'PROFILE', description: 'edge device profile: the space\'s knobs and rules, the predictions (and what --local emulates)' },
    cloud: { type: 'string', value: 'PROFILE', description: 'cloud node profile: cloud modes, the predictions (and what --local emulates)' },
    sample: { type: 'string', value: 'FRACTION', description: 'share of the space to measure (seeded); the rest is predicted, marked modelled', default: '1' },
    budget: { type: 'string', value: 'FRACTION|N', description: 'instead of --sample: search on a measuring budget, a fraction of the space (0.2, 20%) or a count; the rest is predicted' },
    strategy: { type: 'string', value: 'NAME', description: `with --budget: how the search chooses (${SEARCH_STRATEGIES.join(', ')}; docs/optimizer.md)`, default: 'model' },
    warmup: { type: 'string', value: 'N', description: 'runs per configuration not recorded', default: '1' },
    repetitions: { type: 'string', value: 'N', description: 'recorded runs per configuration', default: '3' },
    seed: { type: 'string', value: 'N', description: 'seed of the sample, the held-out set and the inputs', default: '0' },
    'timeout-ms': { type: 'string', value: 'MS', description: 'wait for each result before counting a timeout', default: '30000' },
    cuts: { type: 'string', value: 'CUT,...', description: 'cuts to keep: input (cloud-only), output (edge-only), tensor names (default: all)' },
    frequencies: { type: 'string', value: 'MHZ,...', description: 'edge CPU frequencies (default: the profile\'s)' },
    threads: { type: 'string', value: 'N,...', description: 'edge thread counts (default: the profile\'s)' },
    accelerators: { type: 'string', value: 'MODE,...', description: 'edge accelerator modes, \'none\' first (default: the profile\'s)' },
    'cloud-modes': { type: 'string', value: 'MODE,...', description: 'cloud execution modes (default: the profile\'s)' },
    codecs: { type: 'string', value: 'NAME,...', description: 'tensor codecs (default: all)' },
    out: { type: 'string', value: 'POOL', description: 'pool CSV to write (measured and predicted rows)' },
    local: { type: 'boolean', description: 'profile an embedded pipeline started here (broker, cloud worker, edge node); --mqtt is not used' },
    'link-mbps': { type: 'string', value: 'MBPS', description: 'with --local: emulated uplink bandwidth of the edge node (default: none)' },
    'link-rtt-ms': { type: 'string', value: 'MS', description: 'with --local: emulated link round-trip time (default: none)' },
    json: { type: 'boolean', description: 'print the report (without rows) as JSON on stdout' },
    'log-level': { ...LOG_LEVEL_OPTION, default: 'warn' },
  },
  details: 'Each configuration gets --warmup then --repetitions frames, one at a time, whose configuration field makes\n' +
    'the edge node run it (frames carry a 60 s budget). Results with an error are counted by code, not recorded.\n' +
    'With --budget a search chooses what to measure as the runs come in (optimizer search runs it over a pool).\n' +
    'With --sample < 1 or --budget the cost models are fitted to the sample, a seeded 20% of it is held out to report\n' +
    'the prediction error, and the configurations not measured are predicted (latency/energy source: modelled).\n' +
    'Exits 1 when a chosen configuration has no recorded run (the pool is written all the same). Ctrl-C stops at the next\n' +
    'run, writes the runs measured so far to POOL with .partial before its extension and exits 130. docs/optimizer.md.',
  async run(args, io) {
    const model = servedModelName(args) ?? required(args, 'model');
    const out = prepareOutFile(io, required(args, 'out'));
    const edge = required(args, 'edge');
    const cloud = required(args, 'cloud');
    const logger = loggerFor(args, 'warn');
    const options = {
      model,
      modelSource: stringOption(args, 'model-file'),
      card: stringOption(args, 'card'),
      dims: parseDimArgs(args.values.dim),
      modelCacheDir: modelCacheDir(),
      edge,
      cloud,
      knobs: knobFlags(args),
      cuts: list(args, 'cuts'),
      sample: numberFlag(args, 'sample'),
      search: searchFlags(args),
      warmup: intOption(args, 'warmup', 1),
      repetitions: intOption(args, 'repetitions', 3),
      seed: intOption(args, 'seed', 0),
      timeoutMs: numberFlag(args, 'timeout-ms'),
    };
    const interrupt = onInterrupt(io);
    let report: MeasureReport;
    try {
      const local = args.values.local === true ? await startLocal(args, { model, file: options.modelSource, card: options.card, dims: options.dims }, edge, cloud, logger) : undefined;
      const mqttUrl = local?.url ?? mqttUrlFlag(args) ?? DEFAULT_MQTT_URL;
      io.stderr(`profiling ${model} through ${local ? `an embedded pipeline (edge emulating ${edge}, cloud emulating ${cloud})` : mqttUrl}\n`);
      try {
        // The bar's ETA comes from its own clock, the same pace the profiler reports.
        const bar = progressCallback({ write: io.stderr, isTTY: io.isTTY }, 'requests');
        report = await measureConfigurations({ ...options, mqttUrl }, { logger, onProgress: (done, total) => bar(done, total), signal: interrupt.signal });
      } finally {
        await local?.close();
      }
    } finally {
      interrupt.dispose();
    }
    if (interrupt.signal.aborted) return interrupted(report, out, io);
    writeFileSync(out, writePool([...report.measured, ...report.predicted]));
    rmSync(partialPath(out), { force: true });
    const { measured: _m, predicted: _p, ...summary } = report;
    io.stdout(args.values.json ? `${JSON.stringify({ out, ...summary }, null, 2)}\n` : reportText(report, out));
    return report.counts.measured === report.counts.chosen && !report.aborted ? 0 : 1;
  },
};

/** Stopped by Ctrl-C: the runs measured so far (none predicted from a cut-short sample) go to POOL.partial.csv; POOL is left as it was. */
function interrupted(report: MeasureReport, out: string, io: Io): number {
  const written = [];
  if (report.measured.length > 0) {
    const file = partialPath(out);
    writeFileSync(file, writePool(report.measured));
    written.push({ file, partial: true });
  }
  io.stderr(interruptedLine(written));
  return INTERRUPTED_EXIT;
}

function required(args: CommandArgs, flag: string): string {
  const value = stringOption(args, flag);
  if (!value) throw new DynasplitError(ErrorCodes.BAD_ARGS, `missing --${flag}`);
  return value;
}

function list(args: CommandArgs, flag: string): string[] | undefined {
  const raw = stringOption(args, flag);
  return raw === undefined ? undefined : raw.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Knob flags given replace the profiles' lists; the edge profile's rules still remove what it cannot run. */
function knobFlags(args: CommandArgs) {
  const numbers = (flag: string) => list(args, flag)?.map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new DynasplitError(ErrorCodes.BAD_ARGS, `--${flag} takes positive integers, got '${v}'`);
    return n;
  });
  return {
    frequenciesMhz: numbers('frequencies'),
    threads: numbers('threads'),
    accelerators: list(args, 'accelerators'),
    cloudModes: list(args, 'cloud-modes'),
    codecs: list(args, 'codecs'),
  };
}

/** The model --local serves: its name, file (default: the zoo model of that name), card file and dims. */
interface LocalModel { model: string; file?: string; card?: string; dims: Record<string, number> }

/** Broker on an ephemeral loopback port, a cloud worker and an edge node emulating the profiles (cli/demo-command.ts). */
async function startLocal(args: CommandArgs, served: LocalModel, edge: string, cloud: string, logger: Logger) {
  const cacheDir = modelCacheDir();
  const host = await processHost();
  const broker = await startBroker({ host: '127.0.0.1', port: 0 }, { logger });
  const closers: (() => Promise<void>)[] = [() => broker.close()];
  const close = async () => {
    for (const c of closers.splice(0)) await c();
  };
  try {
    // The nodes read the model as the profiler does: its card (beside it, or --card) and --dim.
    const models = { [served.model]: served.file ?? served.model };
    const cards = served.card === undefined ? undefined : { [served.model]: served.card };
    const common = { mqttUrl: broker.url, models, cards, dims: served.dims, modelCacheDir: cacheDir };
    const worker = await startCloudWorker({ ...common, workerId: `profile-cloud-${process.pid}`, profile: cloud }, { logger, host });
    closers.unshift(() => worker.close());
    const node = await startEdgeNode({
      ...common, edgeId: `profile-edge-${process.pid}`, profile: edge,
      linkMbps: numberFlag(args, 'link-mbps'), linkRttMs: numberFlag(args, 'link-rtt-ms'),
    }, { logger, host });
    closers.unshift(() => node.close());
  } catch (err) {
    await close();
    throw err;
  }
  return { url: broker.url, close };
}

function fittedRows({ corrections: k, fixed, link, overheadMs }: FittedModel): string[][] {
  return [
    ['fitted corrections (edge, cloud, transfer, energy)', [k.edge, k.cloud, k.transfer, k.energy].map((x) => x.toFixed(3)).join(', ')],
    ['fitted fixed cost per inference', `edge ${(fixed.edgeFlops / 1e6).toFixed(2)} MFLOP, cloud ${fixed.cloudMs.toFixed(3)} ms`],
    ['fitted link', `${link.bandwidthMbps.toFixed(1)} Mbit/s, rtt ${link.rttMs.toFixed(2)} ms`],
    ['fitted overhead (edge-only, offloaded)', `${overheadMs.local.toFixed(2)}, ${overheadMs.offloaded.toFixed(2)} ms`],
  ];
}

function reportText(r: MeasureReport, out: string): string {
  const pct = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)}%` : 'n/a');
  const c = r.counts;
  const rows = [
    ['configurations in the space', String(c.configurations)],
    ['measured', `${c.measured} of ${c.chosen} chosen (${r.measured.length} runs, ${r.requests} requests)${r.aborted ? ', stopped early' : ''}`],
    ['predicted (modelled)', String(c.predicted)],
    ['errors', Object.keys(r.errors).length ? Object.entries(r.errors).map(([code, n]) => `${code} ${n}`).join(', ') : '0'],
    ...(r.heldOut ? [[`held-out prediction error (${r.heldOut.count} configurations, fitted on ${r.heldOut.fittedOn})`,
      `latency median ${pct(r.heldOut.latencyMedianPct)}, p90 ${pct(r.heldOut.latencyP90Pct)}; energy median ${pct(r.heldOut.energyMedianPct)}, p90 ${pct(r.heldOut.energyP90Pct)}`]] : []),
    ...(r.fitted ? fittedRows(r.fitted) : []),
    ['pool', `${out} (${r.measured.length + r.predicted.length} rows)`],
    ['elapsed', `${(r.elapsedMs / 1000).toFixed(1)} s`],
  ];
  const failed = r.failed.slice(0, 20).map((f) => `  ${f.configuration}: ${f.code} ${f.message}`);
  return `\n${table(['profile', ''], rows)}${failed.length ? `\nnot measured:\n${failed.join('\n')}\n` : ''}`;
}

/** --budget (and --strategy): the search on a measuring budget, or undefined for --sample. */
function searchFlags(args: CommandArgs): { budget: string; strategy: SearchStrategy } | undefined {
  const budget = stringOption(args, 'budget');
  if (budget === undefined) return undefined;
  const strategy = stringOption(args, 'strategy') ?? 'model';
  if (!(SEARCH_STRATEGIES as readonly string[]).includes(strategy)) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `unknown --strategy '${strategy}'; strategies: ${SEARCH_STRATEGIES.join(', ')}`);
  }
  return { budget, strategy: strategy as SearchStrategy };
}
