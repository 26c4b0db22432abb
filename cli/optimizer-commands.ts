/** `dynasplit optimizer ...`: the configuration space, the exact front of a pool, CSV import, search on a budget. */
import { existsSync, writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { listProfiles, loadProfile, profileKnobs } from '../hardware/index.ts';
import { DEFAULT_MODEL_CACHE_DIR, inspectModel, resolveModel } from '../model/index.ts';
import { aggregatePool, cutsFromInspection, FIGURE_SOURCES, describeSpace, importCsv, KNOB_FIELDS, memoryCheck, paretoFront, profileCheck, readPool, writePool, type Aggregate, type ImportResult, type KnobField, type KnobSet, type SpaceDescription, type ValidityCheck } from '../pareto/index.ts';
import { intOption, prepareOutFile, stringOption, readTextFile, type Command, type CommandArgs, type Io } from './command.ts';
import { modelCacheDir, numberFlag } from './env.ts';
import { formatCount, table } from './format.ts';
import { searchCommand, selectModel } from './optimizer-search-command.ts';

const JSON_OPTION = { type: 'boolean', description: 'print the result as JSON on stdout' } as const;

/** The shape of DynaSplit's testbed (May et al., 2024): a Pi 4 (600-1800 MHz DVFS, 4 cores), a USB TPU (std/max clock), a CPU/GPU cloud node. */
const DEFAULT_KNOBS = {
  frequencies: '600,800,1000,1200,1400,1600,1800',
  threads: '1,2,3,4',
  accelerators: 'none,std,max',
  'cloud-modes': 'cpu,gpu',
};

const print = (io: Io, args: CommandArgs, data: unknown, text: () => string) =>
  io.stdout(args.values.json ? `${JSON.stringify(data, null, 2)}\n` : text());

const space: Command = {
  path: ['optimizer', 'space'],
  summary: 'size of the configuration space of a model and the rules that shrink it',
  usage: '',
  positionals: { min: 0, max: 0 },
  options: {
    model: { type: 'string', value: 'FILE|NAME', description: 'ONNX model file or zoo name' },
    edge: { type: 'string', value: 'PROFILE', description: `edge device profile: knobs and rules (${listProfiles().join(', ')}, or a JSON file)` },
    cloud: { type: 'string', value: 'PROFILE', description: 'cloud node profile: cloud modes' },
    frequencies: { type: 'string', value: 'MHZ,...', description: `edge CPU frequencies (default: the profile's, else ${DEFAULT_KNOBS.frequencies})` },
    threads: { type: 'string', value: 'N,...', description: `edge thread counts (default: the profile's, else ${DEFAULT_KNOBS.threads})` },
    accelerators: { type: 'string', value: 'MODE,...', description: `edge accelerator modes, 'none' first (default: the profile's, else ${DEFAULT_KNOBS.accelerators})` },
    'cloud-modes': { type: 'string', value: 'MODE,...', description: `cloud execution modes (default: the profile's, else ${DEFAULT_KNOBS['cloud-modes']})` },
    codecs: { type: 'string', value: 'NAME,...', description: 'tensor codecs (default: all)' },
    'edge-memory-mb': { type: 'string', value: 'MB', description: 'edge memory for head weights (default: the profile\'s, else no limit)' },
    seed: { type: 'string', value: 'N', description: 'weight seed of zoo models', default: '0' },
    json: JSON_OPTION,
  },
  details: 'Knob flags narrow or replace a profile\'s knobs; without profiles their defaults are the shape of the\n' +
    'DynaSplit testbed (Pi 4 + USB TPU, CPU/GPU cloud). Rules: docs/optimizer.md.',
  async run(args, io) {
    const model = stringOption(args, 'model');
    if (!model) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'missing --model FILE|NAME');
    const path = await resolveModel(model, { cacheDir: modelCacheDir() ?? DEFAULT_MODEL_CACHE_DIR, seed: intOption(args, 'seed', 0) });
    const cuts = cutsFromInspection(await inspectModel(path));
    const { knobs, check, knobSource } = spaceSettings(args);
    const description = describeSpace(cuts, knobs, check);
    print(io, args, { model, cuts: cuts.length, knobs, knobSource, ...description }, () => spaceText(model, knobs, knobSource, description));
    return 0;
  },
};

/** Knobs: an explicit flag, else the profile's, else the default; checks: the edge profile's, then --edge-memory-mb. */
function spaceSettings(args: CommandArgs) {
  const edgeName = stringOption(args, 'edge');
  const cloudName = stringOption(args, 'cloud');
  const edge = edgeName ? loadProfile(edgeName) : undefined;
  const cloud = cloudName ? loadProfile(cloudName) : undefined;
  const fromEdge = edge ? profileKnobs(edge) : undefined;
  const pick = <T>(flag: keyof typeof DEFAULT_KNOBS, profile: T[] | undefined, parse: (flag: string) => T[]): T[] =>
    args.values[flag] !== undefined ? parse(flag) : (profile ?? parse(flag));
  const numbers = (flag: string) => list(args, flag, DEFAULT_KNOBS[flag as keyof typeof DEFAULT_KNOBS]).map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new DynasplitError(ErrorCodes.BAD_ARGS, `--${flag} takes positive integers, got '${v}'`);
    return n;
  });
  const strings = (flag: string) => list(args, flag, DEFAULT_KNOBS[flag as keyof typeof DEFAULT_KNOBS]);
  const codecs = list(args, 'codecs', '');
  const knobs: KnobSet = {
    frequenciesMhz: pick('frequencies', fromEdge?.frequenciesMhz, numbers),
    threads: pick('threads', fromEdge?.threads, numbers),
    accelerators: pick('accelerators', fromEdge?.accelerators, strings),
    cloudModes: pick('cloud-modes', cloud ? profileKnobs(cloud).cloudModes : undefined, strings),
    ...(codecs.length > 0 ? { codecs } : {}),
  };
  const memoryMb = numberFlag(args, 'edge-memory-mb');
  const checks = [edge ? profileCheck(edge) : undefined, memoryMb === undefined ? undefined : memoryCheck(memoryMb * 2 ** 20)].filter((c) => c !== undefined);
  const check: ValidityCheck | undefined = checks.length === 0 ? undefined : (s) => checks.map((c) => c(s)).find((v) => !v.ok) ?? { ok: true };
  return { knobs, check, knobSource: { edge: edge?.name ?? 'flags', cloud: cloud?.name ?? 'flags' } };
}

const front: Command = {
  path: ['optimizer', 'front'],
  summary: 'exact Pareto front (latency, energy, accuracy) of a measurement pool, in policy order',
  usage: 'POOL',
  positionals: { min: 1, max: 1 },
  options: {
    model: { type: 'string', value: 'NAME', description: 'model whose runs to use (needed when the pool holds several)' },
    json: JSON_OPTION,
  },
  details: 'Policy order: energy ascending, then accuracy descending (DynaSplit\'s online rule walks it). Pool format: docs/optimizer.md.',
  async run(args, io) {
    const [file] = args.positionals;
    const aggregates = selectModel(aggregatePool(readPool(readTextFile(file))), stringOption(args, 'model'));
    const points = paretoFront(aggregates);
    const data = {
      model: aggregates[0]?.model ?? '',
      configurations: aggregates.length,
      runs: aggregates.reduce((s, a) => s + a.runs, 0),
      front: points.map((p) => ({ config: p.configuration, latencyMs: p.latencyMs, latencyP95Ms: p.latencyP95Ms, energyJ: p.energyJ, accuracy: p.accuracy, runs: p.runs })),
    };
    print(io, args, data, () => frontText(aggregates, points));
    return 0;
  },
};

const importCommand: Command = {
  path: ['optimizer', 'import'],
  summary: 'turn any CSV of measured runs into a measurement pool',
  usage: 'CSV',
  positionals: { min: 1, max: 1 },
  options: {
    'config-columns': { type: 'string', value: 'A,B,...', description: 'columns whose values name a configuration' },
    'latency-column': { type: 'string', value: 'NAME', description: 'end-to-end latency, ms' },
    'energy-column': { type: 'string', value: 'NAME', description: 'energy per inference, J' },
    'accuracy-column': { type: 'string', value: 'NAME', description: 'accuracy, 0..1 (see --accuracy-scale)' },
    'accuracy-scale': { type: 'string', value: 'X', description: 'multiplies accuracy cells (0.01 for percentages)', default: '1' },
    'cloud-only': { type: 'string', value: 'A=V,...', description: 'column values that mark the cloud-only baseline' },
    'edge-only': { type: 'string', value: 'A=V,...', description: 'column values that mark the edge-only baseline' },
    map: { type: 'string', multiple: true, value: 'FIELD=COLUMN', description: `fill a pool field from a column (${KNOB_FIELDS.join(', ')}; repeatable)` },
    model: { type: 'string', value: 'NAME', description: "model column of the pool (default: the CSV's file name)" },
    source: { type: 'string', value: 'SOURCE', description: "where the figures come from: measured, modelled, emulated (default: '' = not known)" },
    out: { type: 'string', value: 'POOL', description: 'pool CSV to write' },
    append: { type: 'boolean', description: 'add the rows to an existing pool instead of replacing it' },
    'skip-bad': { type: 'boolean', description: 'exit 0 even when rows were rejected' },
    'max-errors': { type: 'string', value: 'N', description: 'rejected rows listed', default: '20' },
    json: JSON_OPTION,
  },
  details: 'Good rows are always written; rejected rows are listed with their line numbers and make the command exit 1\n' +
    'unless --skip-bad. Column names match exactly, else ignoring case and repeated spaces.',
  async run(args, io) {
    const [file] = args.positionals;
    const out = stringOption(args, 'out');
    if (!out) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'missing --out POOL');
    prepareOutFile(io, out);
    const result = importCsv(readTextFile(file), importOptions(args, file));
    const existing = args.values.append && existsSync(out) ? readPool(readTextFile(out)) : [];
    writeFileSync(out, writePool([...existing, ...result.rows]));
    const data = { out, imported: result.rows.length, rejected: result.rejected, errors: result.errors };
    print(io, args, data, () => importText(out, result));
    return result.rejected === 0 || args.values['skip-bad'] ? 0 : 1;
  },
};

export const optimizerCommands: Command[] = [space, front, importCommand, searchCommand];

function list(args: CommandArgs, flag: string, fallback = ''): string[] {
  return (stringOption(args, flag) ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
}

/** `a=v,b=w` as { a: 'v', b: 'w' } (values may hold '='). */
function pairs(args: CommandArgs, flag: string): Record<string, string> | undefined {
  const raw = stringOption(args, flag);
  if (raw === undefined) return undefined;
  return Object.fromEntries(raw.split(',').map((entry) => {
    const at = entry.indexOf('=');
    if (at <= 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, `--${flag} takes COLUMN=VALUE,..., got '${entry}'`);
    return [entry.slice(0, at).trim(), entry.slice(at + 1).trim()];
  }));
}

function importOptions(args: CommandArgs, file: string) {
  const required = (flag: string) => {
    const value = stringOption(args, flag);
    if (!value) throw new DynasplitError(ErrorCodes.BAD_ARGS, `missing --${flag}`);
    return value;
  };
  const source = stringOption(args, 'source') ?? '';
  if (!(FIGURE_SOURCES as readonly string[]).includes(source)) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `--source must be one of ${FIGURE_SOURCES.slice(1).join(', ')}; got '${source}'`);
  }
  return {
    configColumns: list(args, 'config-columns'),
    latencyColumn: required('latency-column'),
    energyColumn: required('energy-column'),
    accuracyColumn: stringOption(args, 'accuracy-column'),
    accuracyScale: numberFlag(args, 'accuracy-scale') ?? 1,
    cloudOnly: pairs(args, 'cloud-only'),
    edgeOnly: pairs(args, 'edge-only'),
    knobColumns: knobColumns(args.values.map),
    model: stringOption(args, 'model') ?? basename(file, extname(file)),
    latencySource: source,
    energySource: source,
    maxErrors: intOption(args, 'max-errors', 20),
  };
}

function knobColumns(raw: unknown): Partial<Record<KnobField, string>> {
  const entries = (Array.isArray(raw) ? raw : []).map((entry) => {
    const text = String(entry);
    const at = text.indexOf('=');
    const field = text.slice(0, at) as KnobField;
    if (at <= 0 || !KNOB_FIELDS.includes(field)) {
      throw new DynasplitError(ErrorCodes.BAD_ARGS, `--map takes FIELD=COLUMN with FIELD one of ${KNOB_FIELDS.join(', ')}, got '${text}'`);
    }
    return [field, text.slice(at + 1)];
  });
  return Object.fromEntries(entries);
}

function spaceText(model: string, knobs: KnobSet, source: { edge: string; cloud: string }, d: SpaceDescription): string {
  const [cuts, f, t, a, c, m] = d.radices;
  const from = (s: string) => (s === 'flags' ? 'flags' : `profile ${s}`);
  return [
    `${model}: ${cuts} cut points (input, ${cuts - 2} cuts, output) x ${f} frequencies x ${t} thread counts x ` +
      `${a} accelerator modes x ${c} codecs x ${m} cloud modes`,
    `edge knobs from ${from(source.edge)}: ${knobs.frequenciesMhz.join(',')} MHz; threads ${knobs.threads.join(',')}; ` +
      `accelerators ${knobs.accelerators.join(',')}; cloud modes from ${from(source.cloud)}: ${knobs.cloudModes.join(',')}`,
    `${formatCount(d.sizeBeforeRules)} configurations before rules, ${formatCount(d.size)} after`,
    '',
    table(['rule (in the order applied)', 'removed'], d.rules.map((r) => [r.rule, formatCount(r.removed)])),
  ].join('\n');
}

function frontText(aggregates: Aggregate[], points: Aggregate[]): string {
  const sources = (key: 'latencySource' | 'energySource') => [...new Set(points.map((p) => p[key] || 'not known'))].join(', ');
  const rows = points.map((p) => [p.configuration.name, p.latencyMs.toFixed(1), p.latencyP95Ms.toFixed(1), p.energyJ.toFixed(3),
    p.accuracyRuns > 0 ? p.accuracy.toFixed(4) : 'n/a', String(p.runs)]);
  const baselines = aggregates.filter((a) => a.baseline !== '').map((b) =>
    `${b.baseline} baseline: ${b.configuration.name}, ${b.latencyMs.toFixed(1)} ms, ${b.energyJ.toFixed(3)} J`);
  return [
    `${aggregates[0]?.model || '(no model)'}: ${aggregates.length} configurations, ${aggregates.reduce((s, a) => s + a.runs, 0)} runs; ` +
      `front of ${points.length} in policy order (energy ascending, then accuracy descending)`,
    `latency: ${sources('latencySource')}; energy: ${sources('energySource')} (as recorded in the pool)`,
    '',
    table(['configuration', 'p50 ms', 'p95 ms', 'energy J', 'accuracy', 'runs'], rows),
    ...baselines,
    ...(baselines.length ? [''] : []),
  ].join('\n');
}

function importText(out: string, result: ImportResult): string {
  const listed = result.errors.map((e) => `  line ${e.line}: ${e.message}`);
  const more = result.rejected - result.errors.length;
  return [
    `imported ${result.rows.length} of ${result.records} rows into ${out}${result.rejected ? `; rejected ${result.rejected}:` : ''}`,
    ...listed,
    ...(more > 0 ? [`  ... and ${more} more`] : []),
    '',
  ].join('\n');
}
