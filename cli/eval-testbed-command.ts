/**
 * `dynasplit eval testbed`: the strategies on the real pipeline (eval/testbed/ runTestbed runs it), its
 * options, and what it prints. docs/evaluation.md.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { DEFAULT_SPACE, STRATEGY_NAMES, type StrategyName } from '../eval/index.ts';
import { runTestbed, type ModelOutcome, type TestbedOptions, type WrittenFile } from '../eval/testbed/index.ts';
import { BUDGET_SPECS, readBudgets } from '../workload/index.ts';
import { intOption, prepareOutDir, stringOption, type Command } from './command.ts';
import { LOG_LEVEL_OPTION, loggerFor, METRICS_OPTION, metricsStoreFlag, modelCacheDir, numberFlag } from './env.ts';
import { table } from './format.ts';
import { interruptedLine, INTERRUPTED_EXIT, onInterrupt } from './interrupt.ts';

const DEFAULTS = { models: 'vgg16,vit-b16', requests: 50, budgets: 'weibull:2', seed: 1, out: './testbed-out', repetitions: 3, warmup: 1, timeoutMs: 60_000 };

export const testbedCommand: Command = {
  path: ['eval', 'testbed'],
  summary: 'run the strategies on the real pipeline (broker, edge, cloud, optimizer) and write pools and results',
  usage: '',
  positionals: { min: 0, max: 0 },
  options: {
    models: { type: 'string', value: 'A,B=FILE,...', description: 'zoo models (or NAME=model.onnx)', default: DEFAULTS.models },
    requests: { type: 'string', value: 'N', description: 'requests per model per strategy', default: String(DEFAULTS.requests) },
    budgets: { type: 'string', value: 'DIST|FILE', description: `latency budgets, ms: ${BUDGET_SPECS}; weibull:SHAPE is scaled to the profiled pool (docs/evaluation.md)`, default: DEFAULTS.budgets },
    seed: { type: 'string', value: 'S', description: 'seeds the inputs, the budgets and the oracle\'s draws', default: String(DEFAULTS.seed) },
    out: { type: 'string', value: 'DIR', description: 'where pool-MODEL.csv and results-MODEL.json go', default: DEFAULTS.out },
    'edge-profile': { type: 'string', value: 'NAME', description: 'device the edge node emulates', default: 'rpi4' },
    'cloud-profile': { type: 'string', value: 'NAME', description: 'device the cloud worker emulates', default: 'gpu-server' },
    repetitions: { type: 'string', value: 'R', description: 'recorded runs per configuration when profiling', default: String(DEFAULTS.repetitions) },
    warmup: { type: 'string', value: 'N', description: 'unrecorded requests per cut before measuring it', default: String(DEFAULTS.warmup) },
    'accuracy-floor': { type: 'string', value: 'A', description: 'strategies and oracle choose among configurations of mean accuracy >= A (0..1; baselines kept; default: all)' },
    space: { type: 'string', value: 'SPEC', description: 'configurations profiled: cuts=N|all|A,B;frequencies=min,max|all|MHZ,..;threads=..;accelerators=..;codecs=..;cloud=..', default: DEFAULT_SPACE },
    strategies: { type: 'string', value: 'A,B,...', description: `strategies (default: all: ${STRATEGY_NAMES.join(',')})` },
    'timeout-ms': { type: 'string', value: 'MS', description: 'wait for each result', default: String(DEFAULTS.timeoutMs) },
    metrics: METRICS_OPTION,
    json: { type: 'boolean', description: 'print the figures (without records) as JSON on stdout' },
    'log-level': { ...LOG_LEVEL_OPTION, default: 'warn' },
  },
  details: 'Phase 1 profiles the space through the control channel (forced configurations) and writes pool-MODEL.csv\n' +
    'with the baseline marks. Phase 2 sends each strategy the same budgets, one request at a time: the static strategies\n' +
    'and baselines force their configuration; dynasplit and dynasplit-safe publish the pool\'s front as a retained\n' +
    'policy and send unforced frames, so the edge node decides. Phase 3: the oracle, with hindsight over the pool —\n' +
    'its figures are recorded runs, the others\' are live. Exits 1 when a request got no result. Ctrl-C stops at the next\n' +
    'request, writes the runs measured so far to pool-MODEL.partial.csv, no results, and exits 130. docs/evaluation.md.',
  async run(args, io) {
    const logger = loggerFor(args, 'warn');
    const options = testbedOptions(args);
    prepareOutDir(io, options.outDir);
    const metrics = metricsStoreFlag(args, logger);
    const interrupt = onInterrupt(io);
    const written: WrittenFile[] = [];
    let outcomes: ModelOutcome[];
    try {
      outcomes = await runTestbed(options, { logger, metrics, io, signal: interrupt.signal, written });
    } finally {
      interrupt.dispose();
      await metrics.close();
    }
    io.stdout(args.values.json ? `${JSON.stringify({ models: Object.fromEntries(outcomes.map(jsonSummary)) }, null, 2)}\n` : outcomes.map(summaryText).join('\n'));
    if (interrupt.signal.aborted) {
      io.stderr(interruptedLine(written));
      return INTERRUPTED_EXIT;
    }
    const failed = outcomes.some((o) => Object.values(o.figures.testbed).some((s) => Object.keys(s.failures).length > 0));
    return failed ? 1 : 0;
  },
};

function testbedOptions(args: Parameters<Command['run']>[0]): TestbedOptions {
  const list = (raw: string) => raw.split(',').map((s) => s.trim()).filter(Boolean);
  const models = Object.fromEntries(list(stringOption(args, 'models') ?? DEFAULTS.models).map((entry) => {
    const [name, ...file] = entry.split('=');
    return [name, file.length ? file.join('=') : name];
  }));
  const strategies = list(stringOption(args, 'strategies') ?? STRATEGY_NAMES.join(','));
  const unknown = strategies.filter((s) => !(STRATEGY_NAMES as readonly string[]).includes(s));
  const twice = strategies.filter((s, i) => strategies.indexOf(s) !== i);
  if (unknown.length > 0 || twice.length > 0 || strategies.length === 0) {
    const what = unknown.length > 0 ? `unknown strategies '${unknown.join(', ')}'` : twice.length > 0 ? `strategies listed twice: ${twice.join(', ')}` : 'no strategies';
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `${what}; strategies: ${STRATEGY_NAMES.join(', ')}`);
  }
  const spec = stringOption(args, 'budgets') ?? DEFAULTS.budgets;
  const budgets = readBudgets(spec);
  const requests = intOption(args, 'requests', DEFAULTS.requests);
  const repetitions = intOption(args, 'repetitions', DEFAULTS.repetitions);
  if (requests < 1 || repetitions < 1) throw new DynasplitError(ErrorCodes.BAD_ARGS, '--requests and --repetitions must be at least 1');
  return {
    models, requests, budgets, budgetsLabel: spec, seed: intOption(args, 'seed', DEFAULTS.seed), outDir: stringOption(args, 'out') ?? DEFAULTS.out,
    edgeProfile: stringOption(args, 'edge-profile') ?? 'rpi4', cloudProfile: stringOption(args, 'cloud-profile') ?? 'gpu-server',
    repetitions, warmup: intOption(args, 'warmup', DEFAULTS.warmup), space: stringOption(args, 'space') ?? DEFAULT_SPACE,
    strategies: strategies as StrategyName[], accuracyFloor: numberFlag(args, 'accuracy-floor'), timeoutMs: intOption(args, 'timeout-ms', DEFAULTS.timeoutMs), modelCacheDir: modelCacheDir(),
  };
}

function jsonSummary(o: ModelOutcome): [string, unknown] {
  const { records: _records, ...figures } = o.figures;
  return [o.model, { pool: o.pool, results: o.results, elapsedS: Math.round(o.elapsedMs / 1000), ...figures }];
}

function summaryText(o: ModelOutcome): string {
  const f = o.figures;
  const pct = (x: number | null) => (x === null || !Number.isFinite(x) ? 'n/a' : `${(x * 100).toFixed(1)}%`);
  const num = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
  const rows = Object.entries(f.strategies).map(([name, r]) => {
    const run = f.testbed[name];
    const mix = Object.entries(r.configurations);
    return [name, run.run === 'oracle' ? 'pool' : 'live', String(r.requests), num(r.meanEnergyJ, 3), num(r.medianEnergyJ, 3), pct(r.budgetMetRate), num(r.meanLatencyMs, 0),
      num(r.p95LatencyMs, 0), num(r.meanAccuracy, 3), pct(r.savingsVsCloudOnly), mix.length === 1 ? mix[0][0] : `${mix.length} configurations`];
  });
  const c = f.claims;
  const verdict = (ok: boolean | null) => (ok === null ? 'n/a ' : ok ? 'PASS' : 'FAIL');
  const fmt = (x: number | null, digits: number, unit: string) => (x === null ? 'n/a' : `${x.toFixed(digits)}${unit}`);
  const notes = Object.entries(f.testbed).flatMap(([name, s]) => [
    ...(Object.keys(s.failures).length ? [`  ${name}: no result for ${Object.entries(s.failures).map(([code, n]) => `${n} (${code})`).join(', ')}`] : []),
    ...(s.fallbacks ? [`  ${name}: ${s.fallbacks} requests finished on the edge (the cloud missed the deadline)`] : []),
    ...(s.policy ? [`  ${name}: policy v${s.policy.version} (${s.policy.rule}, ${s.policy.entries.length} entries), ${s.unforced} unforced results, ` +
      `${s.matchesPoolDecision} the pool's own decision for the budget`] : []),
  ]);
  return [
    `${o.model}: ${f.meta.requests} requests per strategy, budgets ${String(f.meta.budgets)}; latency ${JSON.stringify((f.meta.sources as { latency: unknown }).latency)}, ` +
      `energy ${JSON.stringify((f.meta.sources as { energy: unknown }).energy)}; the oracle is drawn from the pool, the others ran live`,
    '',
    table(['strategy', 'run', 'requests', 'mean J', 'median J', 'met', 'mean ms', 'p95 ms', 'accuracy', 'vs cloud-only', 'configuration'], rows),
    'DynaSplit\'s claims (dynasplit against the oracle and cloud-only):',
    `  ${verdict(c.energyWithin5PctOfOracle)} mean energy within 5% of the oracle's: ratio ${fmt(c.energyRatio, 3, '')}`,
    `  ${verdict(c.budgetsWithin2PointsOfOracle)} budgets met within 2 points of the oracle's: ${fmt(c.budgetMetPoints, 1, ' points')}`,
    `  ${verdict(c.accuracyWithin1PointOfCloudOnly)} accuracy within 1 point of cloud-only: ${fmt(c.accuracyVsCloudOnlyPoints, 1, ' points')}`,
    `  drift: live runs cost ${Object.entries(f.drift.strategies).map(([name, r]) => `${name} ${fmt(r, 3, 'x')}`).join(', ')} what the pool (the oracle's ` +
      'runs) says their configurations cost',
    ...(notes.length ? ['notes:', ...notes] : []),
    profileLine(f.meta.profile as { configurations: number; runs: number; notRecorded: Record<string, number>; unmeasured: string[] }),
    `files: ${o.pool}, ${o.results} (${(o.elapsedMs / 60_000).toFixed(1)} min; phases ${JSON.stringify(f.meta.elapsedS)} s)`,
    '',
  ].join('\n');
}

function profileLine(p: { configurations: number; runs: number; notRecorded: Record<string, number>; unmeasured: string[] }): string {
  const skipped = Object.entries(p.notRecorded).map(([code, n]) => `${n} ${code}`).join(', ');
  return `profiled: ${p.configurations} configurations, ${p.runs} runs recorded${skipped ? `; not recorded: ${skipped}` : ''}` +
    `${p.unmeasured.length ? `; no run of ${p.unmeasured.join(', ')}` : ''}`;
}
