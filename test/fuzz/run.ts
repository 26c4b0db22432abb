/**
 * The long fuzz run: every decoder property for 100,000 cases (or --runs),
 * including the `known-bug:` ones the test suite leaves out. Prints per property and per decoder the
 * cases run, the time and the rate, how the decoder calls ended, and for each failure the
 * counterexample with the seed and path that replay it. Exits 1 on any failure, 2 on bad arguments.
 *
 * A watchdog thread kills the run when no case starts for --hang-ms (a hang in a decoder blocks
 * this thread, so it cannot time itself out) and prints the property, case and replay command.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { generateModel } from '../../model/index.ts';
import { PROPERTIES } from './properties.ts';
import { DECODERS, outcomes, seedFor, slowest, type FuzzContext, type FuzzProperty } from './property.ts';

const USAGE = `usage: tsx test/fuzz/run.ts [options]
  --runs N            cases per property (default 100000; some expensive properties run a share of it)
  --seed S            base seed, an integer (default: random, printed)
  --only TEXT         only properties whose name contains TEXT, or of decoder TEXT (repeatable)
  --path P            replay one counterexample path (with --seed and --only)
  --skip-known-bugs   leave out the known-bug properties (exit status then reflects regressions only)
  --hang-ms MS        kill the run when no case starts for MS ms (default 60000)
  --time-limit-s S    stop each property after S seconds, reporting the cases run by then (default: none)`;

interface Options { runs: number; seed: number; only: string[]; path?: string; skipKnownBugs: boolean; hangMs: number; timeLimitS?: number }

class UsageError extends Error {}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string' }, seed: { type: 'string' }, only: { type: 'string', multiple: true }, path: { type: 'string' },
      'skip-known-bugs': { type: 'boolean' }, 'hang-ms': { type: 'string' }, 'time-limit-s': { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help) throw new UsageError('');
  const integer = (name: string, raw: string | undefined, fallback: number, min: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${raw}'`);
    return n;
  };
  return {
    runs: integer('runs', values.runs, 100_000, 1),
    seed: integer('seed', values.seed, (Date.now() ^ (Math.random() * 2 ** 31)) | 0, -(2 ** 31)),
    only: values.only ?? [],
    path: values.path,
    skipKnownBugs: values['skip-known-bugs'] ?? false,
    hangMs: integer('hang-ms', values['hang-ms'], 60_000, 1_000),
    ...(values['time-limit-s'] === undefined ? {} : { timeLimitS: integer('time-limit-s', values['time-limit-s'], 0, 1) }),
  };
}

/** Shared with the watchdog: [0] cases started, [1] index of the running property, [2] cases of it. */
const beat = new Int32Array(new SharedArrayBuffer(12));

const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const beat = new Int32Array(workerData.buffer);
let last = -1;
let since = Date.now();
setInterval(() => {
  const now = Atomics.load(beat, 0);
  if (now !== last) { last = now; since = Date.now(); return; }
  if (Date.now() - since < workerData.hangMs) return;
  const name = workerData.names[Atomics.load(beat, 1)];
  const path = Atomics.load(beat, 2) - 1;
  writeSync(2, '\\nHANG: no case started for ' + workerData.hangMs + ' ms in "' + name + '", case path ' + path +
    ' (exact unless it was shrinking). Replay: tsx test/fuzz/run.ts --only ' + JSON.stringify(name) +
    ' --seed ' + workerData.seed + ' --path ' + path + '\\n');
  process.kill(process.pid, 'SIGKILL');
}, 1000);
`;

function startWatchdog(names: string[], seed: number, hangMs: number): Worker {
  const worker = new Worker(WATCHDOG, { eval: true, workerData: { buffer: beat.buffer, names, seed, hangMs } });
  worker.unref();
  return worker;
}

function displayName(p: FuzzProperty): string {
  return p.knownBug ? `known-bug: ${p.name}` : p.name;
}

interface Report { property: FuzzProperty; cases: number; ms: number; slowestMs: number; outcomes: Map<string, number>; interrupted: boolean; failure?: string }

async function runProperty(p: FuzzProperty, index: number, ctx: FuzzContext, options: Options): Promise<Report> {
  Atomics.store(beat, 1, index);
  Atomics.store(beat, 2, 0);
  outcomes.clear();
  slowest.ms = 0;
  const seed = seedFor(p.name, options.seed);
  const started = performance.now();
  const details = await fc.check(await p.build(ctx), {
    numRuns: Math.max(1, Math.round(options.runs * (p.longRunShare ?? 1))),
    seed,
    ...(options.path === undefined ? {} : { path: options.path }),
    includeErrorInReport: true,
    ...(options.timeLimitS === undefined ? {} : { interruptAfterTimeLimit: options.timeLimitS * 1000, markInterruptAsFailure: false }),
    plugins: [fc.beforeEach(() => {
      Atomics.add(beat, 0, 1);
      Atomics.add(beat, 2, 1);
    })],
  });
  const report: Report = { property: p, cases: details.numRuns, ms: performance.now() - started, slowestMs: slowest.ms, outcomes: new Map(outcomes), interrupted: details.interrupted };
  if (details.failed) report.failure = describeFailure(p, details, options.seed);
  return report;
}

/** The counterexample, the error with its first frames outside fast-check, and how to replay it. */
function describeFailure(p: FuzzProperty, details: fc.RunDetails<unknown>, baseSeed: number): string {
  const err = details.errorInstance;
  const error = err instanceof Error
    ? [`${err.name}: ${err.message}`, ...(err.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l) && !l.includes('node_modules')).slice(0, 4)]
    : [String(err ?? (details.interrupted ? 'interrupted' : 'failed'))];
  const example = fc.stringify(details.counterexample);
  return [
    `after ${details.numRuns} cases, shrunk ${details.numShrinks} times; seed ${details.seed} (base ${baseSeed}), path ${details.counterexamplePath}`,
    `counterexample: ${example.length > 4000 ? `${example.slice(0, 4000)}... (${example.length} characters)` : example}`,
    ...error,
    `replay: tsx test/fuzz/run.ts --only ${JSON.stringify(p.name)} --seed ${baseSeed} --path ${details.counterexamplePath}`,
    ...(p.knownBug ? [`known bug: ${p.knownBug}`] : []),
  ].join('\n');
}

function outcomeSummary(counts: Map<string, number>): string {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return '';
  return [...counts].sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k.replace('DYNASPLIT_ERR_', '')} ${((100 * v) / total).toFixed(v / total < 0.01 ? 2 : 0)}%`).join(', ');
}

function printReport(r: Report): void {
  const rate = r.cases / (r.ms / 1000);
  console.log(`${r.failure ? 'FAIL' : 'ok  '} ${displayName(r.property)}`);
  console.log(`     ${r.cases} cases${r.interrupted ? ' (stopped at --time-limit-s)' : ''} in ${(r.ms / 1000).toFixed(1)} s (${rate.toFixed(0)}/s), slowest call ${r.slowestMs.toFixed(1)} ms; calls: ${outcomeSummary(r.outcomes)}`);
  if (r.failure) console.log(r.failure.replace(/^/gm, '     | '));
}

function printSummary(reports: Report[]): void {
  console.log('\ndecoder     cases      time     cases/s  failures');
  for (const decoder of DECODERS) {
    const rs = reports.filter((r) => r.property.decoder === decoder);
    if (rs.length === 0) continue;
    const cases = rs.reduce((s, r) => s + r.cases, 0);
    const ms = rs.reduce((s, r) => s + r.ms, 0);
    const failures = rs.filter((r) => r.failure).map((r) => (r.property.knownBug ? 'known bug' : 'NEW'));
    console.log(`${decoder.padEnd(10)} ${String(cases).padStart(7)} ${(ms / 1000).toFixed(1).padStart(7)} s ${(cases / (ms / 1000)).toFixed(0).padStart(9)}  ${failures.length} ${failures.length ? `(${failures.join(', ')})` : ''}`);
  }
}

async function main(argv: string[]): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError) && !(err instanceof TypeError)) throw err;
    console.error(err.message ? `${err.message}\n${USAGE}` : USAGE);
    return err.message ? 2 : 0;
  }
  const selected = PROPERTIES.filter((p) => (options.only.length === 0 || options.only.some((o) => p.decoder === o || p.name.includes(o))) &&
    !(options.skipKnownBugs && p.knownBug));
  if (selected.length === 0) {
    console.error(`no property matches ${options.only.join(', ')}\n${USAGE}`);
    return 2;
  }
  const workDir = mkdtempSync(join(tmpdir(), 'dynasplit-fuzz-'));
  try {
    const zooDir = join(workDir, 'zoo');
    for (const name of ['vgg16-tiny', 'vit-tiny']) await generateModel(name, zooDir);
    console.log(`fuzz: ${selected.length} properties, ${options.runs} cases each, seed ${options.seed}\n`);
    startWatchdog(selected.map(displayName), options.seed, options.hangMs);
    const reports: Report[] = [];
    const closers: (() => Promise<void>)[] = [];
    for (const [index, p] of selected.entries()) {
      try {
        reports.push(await runProperty(p, index, { zooDir, workDir, onClose: (fn) => closers.push(fn) }, options));
      } finally {
        for (const close of closers.splice(0)) await close();
      }
      printReport(reports[reports.length - 1]);
    }
    printSummary(reports);
    return reports.some((r) => r.failure) ? 1 : 0;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
