/** `dynasplit eval simulate`: strategies replayed over a measurement pool (docs/evaluation.md). */
import { createProgress, DynasplitError, ErrorCodes } from '../common/index.ts';
import { simulationSteps, STRATEGY_NAMES, type QueueOptions, type SimulationReport, type SimulationStep, type StrategyReport } from '../eval/index.ts';
import { readPool, type PoolRow } from '../pareto/index.ts';
import { BUDGET_SPECS, readBudgets } from '../workload/index.ts';
import { intOption, readTextFile, stringOption, type Command, type CommandArgs } from './command.ts';
import { numberFlag } from './env.ts';
import { reportCommand } from './eval-report-command.ts';
import { interruptedLine, INTERRUPTED_EXIT, onInterrupt } from './interrupt.ts';
import { formatCount, table } from './format.ts';

/** Requests for a distribution when --requests is not given: the size of DynaSplit's evaluation. */
const DEFAULT_REQUESTS = 10_000;
/** Runs at least this long show progress on stderr. */
const PROGRESS_FROM = 100_000;
/** Configurations listed per strategy in the text output. */
const MIX_SHOWN = 8;
/** Per-request records kept per strategy with --records: enough for distributions, small enough for a file (about 0.9 MB per strategy). */
const DEFAULT_RECORDS = 5_000;

const simulateCommand: Command = {
  path: ['eval', 'simulate'],
  summary: 'trace-driven simulation: strategies replayed over a measurement pool',
  usage: '',
  positionals: { min: 0, max: 0 },
  options: {
    pool: { type: 'string', value: 'FILE', description: 'measurement pool CSV (docs/optimizer.md)' },
    budgets: { type: 'string', value: 'FILE|DIST', description: `latency budgets, ms: ${BUDGET_SPECS}; a file holds one per line, used in order` },
    requests: { type: 'string', value: 'N', description: `requests (default: the file's budgets, or ${formatCount(DEFAULT_REQUESTS)} for a distribution)` },
    strategies: { type: 'string', value: 'A,B,...', description: `strategies, in report order (default: all: ${STRATEGY_NAMES.join(',')})` },
    seed: { type: 'string', value: 'S', description: 'seeds the draws, the budgets and the arrivals', default: '1' },
    model: { type: 'string', value: 'NAME', description: 'model whose runs to use (needed when the pool holds several)' },
    'front-from': { type: 'string', value: 'SAMPLE.csv', description: 'schedule from a sample of the pool (optimizer search --out); outcomes still come from --pool' },
    'accuracy-floor': { type: 'string', value: 'A', description: 'leave out configurations whose mean accuracy is below A (0..1; baselines kept)' },
    edges: { type: 'string', value: 'K', description: 'queueing: edge devices (any of --edges/--workers/--rate turns it on; default 1)' },
    workers: { type: 'string', value: 'M', description: 'queueing: cloud workers (default 1)' },
    rate: { type: 'string', value: 'R', description: 'queueing: requests/s per edge device, Poisson (default 1)' },
    'edge-share': { type: 'string', value: 'X', description: 'queueing: share of a split run\'s latency on the edge when the pool records no parts', default: '0.5' },
    json: { type: 'boolean', description: 'print { "strategies": { NAME: figures } } as JSON on stdout' },
    records: { type: 'boolean', description: 'with --json: add per-request records (a uniform sample), "recordsSampled" and "meta", for eval report' },
    'records-max': { type: 'string', value: 'N', description: 'with --records: records kept per strategy', default: String(DEFAULT_RECORDS) },
  },
  details: 'weibull:SHAPE is scaled to the pool: fastest median + (slowest - fastest median) x Weibull(SHAPE, 1).\n' +
    'A budget file shorter than --requests is cycled. Each request draws one recorded run per configuration, the same for\n' +
    'every strategy; the oracle chooses with that hindsight. With --front-from, static-* and dynasplit* schedule from the\n' +
    'sample\'s configurations only (a search on a measuring budget, docs/optimizer.md); baselines and oracle keep the pool.\n' +
    'Figures and the queueing model: docs/evaluation.md.',
  async run(args, io) {
    const poolFile = stringOption(args, 'pool');
    if (!poolFile) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'missing --pool FILE');
    const spec = stringOption(args, 'budgets');
    if (!spec) throw new DynasplitError(ErrorCodes.BAD_ARGS, `missing --budgets FILE|DIST (${BUDGET_SPECS})`);
    const budgets = readBudgets(spec);
    const fallback = typeof budgets === 'string' ? DEFAULT_REQUESTS : budgets.length;
    const requests = intOption(args, 'requests', fallback);
    const records = args.values.records === true ? intOption(args, 'records-max', DEFAULT_RECORDS) : 0;
    if (records > 0 && !args.values.json) throw new DynasplitError(ErrorCodes.BAD_ARGS, '--records goes with --json (records are written as JSON)');
    const rows = readPool(readTextFile(poolFile));
    const sampleFile = stringOption(args, 'front-from');
    const progress = requests >= PROGRESS_FROM ? createProgress({ write: io.stderr, isTTY: io.isTTY }, 'simulate', requests, formatCount) : undefined;
    const interrupt = onInterrupt(io);
    let report: SimulationReport | undefined;
    try {
      report = await runSteps(simulationSteps({
        rows,
        budgets,
        requests,
        strategies: (stringOption(args, 'strategies') ?? STRATEGY_NAMES.join(',')).split(',').map((s) => s.trim()).filter(Boolean),
        seed: intOption(args, 'seed', 1),
        model: stringOption(args, 'model'),
        scheduleFrom: sampleFile === undefined ? undefined : readPool(readTextFile(sampleFile)),
        edgeShare: numberFlag(args, 'edge-share'),
        accuracyFloor: numberFlag(args, 'accuracy-floor'),
        queueing: queueFlags(args),
        records,
      }), interrupt.signal, progress ? (done) => { if (done < requests) progress.update(done); } : undefined);
    } finally {
      interrupt.dispose();
    }
    if (!report) {
      // Figures of the requests done so far would read as the run's: nothing is printed on stdout.
      io.stderr(interruptedLine([]));
      return INTERRUPTED_EXIT;
    }
    progress?.done();
    const meta = simulationMeta(args, rows, { pool: poolFile, budgets: spec, requests });
    const output = records > 0 ? { ...report, meta } : report;
    io.stdout(args.values.json ? jsonText(output) : reportText(report, requests, meta.sources));
    return 0;
  },
};

export const evalCommands: Command[] = [simulateCommand, reportCommand];

/** Runs the simulation's steps, back to the event loop between them (a Ctrl-C is seen within one step); undefined when stopped. */
async function runSteps(
  steps: Generator<SimulationStep, SimulationReport, void>, signal: AbortSignal, onProgress?: (done: number) => void,
): Promise<SimulationReport | undefined> {
  for (let step = steps.next(); ; step = steps.next()) {
    if (step.done) return step.value;
    onProgress?.(step.value.done);
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (signal.aborted) return undefined;
  }
}

/** Indented JSON, except that each per-request record takes one line (7 x 5,000 records: about 6 MB rather than 8.5 MB, and readable line by line). */
function jsonText(output: SimulationReport): string {
  const { records, ...rest } = output;
  const head = JSON.stringify(rest, null, 2);
  if (!records) return `${head}\n`;
  const lists = Object.entries(records).map(([name, list]) =>
    `    ${JSON.stringify(name)}: [${list.length > 0 ? `\n${list.map((r) => `      ${JSON.stringify(r)}`).join(',\n')}\n    ` : ''}]`);
  return `${head.slice(0, -2)},\n  "records": {\n${lists.join(',\n')}\n  }\n}\n`;
}

/** What eval report needs to say where the figures come from: the run's settings and the pool's sources (docs/hardware.md). */
function simulationMeta(args: CommandArgs, rows: readonly PoolRow[], run: { pool: string; budgets: string; requests: number }) {
  const model = stringOption(args, 'model') ?? rows[0]?.model ?? '';
  const used = rows.filter((r) => r.model === model);
  const tally = (source: (r: PoolRow) => string) => {
    const counts: Record<string, number> = {};
    for (const r of used) counts[source(r)] = (counts[source(r)] ?? 0) + 1;
    return counts;
  };
  return {
    source: 'simulated', pool: run.pool, model, seed: intOption(args, 'seed', 1), budgets: run.budgets, requests: run.requests,
    ...(args.values['accuracy-floor'] === undefined ? {} : { accuracyFloor: numberFlag(args, 'accuracy-floor') }),
    sources: {
      latency: tally((r) => r.latencySource),
      energy: tally((r) => r.energySource),
      // A run without accuracy counts with its configuration's mean, else 1 (docs/evaluation.md, Figures).
      accuracy: tally((r) => (Number.isFinite(r.accuracy) ? 'measured' : 'not measured')),
    },
  };
}

function queueFlags(args: CommandArgs): QueueOptions | undefined {
  if (args.values.edges === undefined && args.values.workers === undefined && args.values.rate === undefined) return undefined;
  return { edges: intOption(args, 'edges', 1), workers: intOption(args, 'workers', 1), ratePerSecond: numberFlag(args, 'rate') ?? 1 };
}

const pct = (x: number | null) => (x === null || Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(1)}%`);

/** `latency emulated, energy modelled`: where the pool's figures come from, counted per run where they differ. */
function sourcesLine(sources: Record<string, Record<string, number>>): string {
  const one = (counts: Record<string, number>) => {
    const named = Object.entries(counts).map(([source, n]) => [source || 'not said', n] as const);
    return named.length === 1 ? named[0][0] : named.map(([source, n]) => `${source} ${formatCount(n)}`).join(', ');
  };
  return `figures replay the pool's runs: latency ${one(sources.latency)}, energy ${one(sources.energy)}, accuracy ${one(sources.accuracy)}`;
}

function reportText(report: SimulationReport, requests: number, sources: Record<string, Record<string, number>>): string {
  const entries = Object.entries(report.strategies);
  const queued = entries.some(([, r]) => r.meanQueueWaitMs !== undefined);
  const header = ['strategy', 'mean J', 'median J', 'met', 'mean ms', 'p95 ms', 'accuracy', 'vs cloud-only', ...(queued ? ['queue ms', 'edge wait ms'] : [])];
  const rows = entries.map(([name, r]) => [name, r.meanEnergyJ.toFixed(4), r.medianEnergyJ.toFixed(4), pct(r.budgetMetRate), r.meanLatencyMs.toFixed(1),
    r.p95LatencyMs.toFixed(1), r.meanAccuracy.toFixed(4), pct(r.savingsVsCloudOnly),
    ...(queued ? [r.meanQueueWaitMs!.toFixed(1), r.meanEdgeWaitMs!.toFixed(1)] : [])]);
  return [
    `${formatCount(requests)} requests; energy per request, budgets met, latency (mean, p95), accuracy, energy saved against cloud-only`,
    sourcesLine(sources),
    '',
    table(header, rows),
    ...entries.map(([name, r]) => mixText(name, r)),
  ].join('\n');
}

function mixText(name: string, r: StrategyReport): string {
  const mix = Object.entries(r.configurations);
  const rows = mix.slice(0, MIX_SHOWN).map(([config, count]) => [config, formatCount(count), pct(r.requests > 0 ? count / r.requests : NaN)]);
  const more = mix.length - MIX_SHOWN;
  return `${table([`${name}: configuration`, 'requests', 'share'], rows)}${more > 0 ? `... and ${more} more\n` : ''}`;
}
