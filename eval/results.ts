/**
 * A results file (`eval simulate --json --records`, or the testbed's file of the same shape), checked
 * and read: the figures per strategy (stats.ts's StrategyReport), the per-request records (stats.ts's
 * RequestOutcome) and `meta`, which says where the figures came from (docs/evaluation.md, "Report").
 * JSON holds no NaN: a figure the simulation could not compute (NaN) is written as null, and read back
 * as NaN, so a results file read back has the type the simulation produced.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import type { RequestOutcome, StrategyReport } from './stats.ts';

/** A figure's source: one word (`measured`) or runs per source (`{ "measured": 40, "modelled": 10 }`; '' = not recorded). */
export type SourceSpec = string | Record<string, number>;

export interface ResultsMeta {
  source?: 'simulated' | 'testbed';
  pool?: string;
  model?: string;
  seed?: number;
  budgets?: string;
  requests?: number;
  sources?: { latency?: SourceSpec; energy?: SourceSpec; accuracy?: SourceSpec };
  [other: string]: unknown;
}

export interface Results {
  strategies: Record<string, StrategyReport>;
  records?: Record<string, RequestOutcome[]>;
  recordsSampled?: boolean;
  meta?: ResultsMeta;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and checks a results file; BAD_ARGS naming the file and the field at the first fault. */
export function parseResults(text: string, file: string): Results {
  const bad = (field: string, what: string, got?: unknown) => new DynasplitError(ErrorCodes.BAD_ARGS,
    `${file}: ${field} ${what}${got === undefined ? '' : `, got ${JSON.stringify(got)?.slice(0, 60)}`}`, { details: { file, field } });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `${file}: not JSON (${(cause as Error).message})`, { cause, details: { file } });
  }
  if (!isObject(json)) throw bad('the file', 'must be a JSON object { "strategies": { ... } }');
  if (!isObject(json.strategies)) throw bad('strategies', 'must be an object of strategy name -> figures', json.strategies);
  const names = Object.keys(json.strategies);
  if (names.length === 0) throw bad('strategies', 'holds no strategy');
  const results: Results = { strategies: Object.fromEntries(names.map((n) => [n, readFigures((json as { strategies: Record<string, unknown> }).strategies[n], `strategies.${n}`, bad)])) };
  if (json.records !== undefined) results.records = readRecords(json.records, names, bad);
  if (json.recordsSampled !== undefined) {
    if (typeof json.recordsSampled !== 'boolean') throw bad('recordsSampled', 'must be true or false', json.recordsSampled);
    results.recordsSampled = json.recordsSampled;
  }
  if (json.meta !== undefined) results.meta = readMeta(json.meta, bad);
  return results;
}

type Bad = (field: string, what: string, got?: unknown) => DynasplitError;

function readFigures(v: unknown, at: string, bad: Bad): StrategyReport {
  if (!isObject(v)) throw bad(at, 'must be an object of figures', v);
  const figure = (key: string, required: boolean): number => {
    const x = v[key];
    if (x === null || (x === undefined && !required)) return NaN;
    if (typeof x !== 'number' || !Number.isFinite(x)) throw bad(`${at}.${key}`, required ? 'must be a number or null' : 'must be a number, null or absent', x);
    return x;
  };
  const requests = v.requests;
  if (typeof requests !== 'number' || !Number.isInteger(requests) || requests < 0) throw bad(`${at}.requests`, 'must be a non-negative integer', requests);
  const configurations = v.configurations ?? {};
  if (!isObject(configurations) || Object.values(configurations).some((n) => typeof n !== 'number' || !(n >= 0))) {
    throw bad(`${at}.configurations`, 'must map configuration names to request counts', configurations);
  }
  const savings = figure('savingsVsCloudOnly', false);
  const report: StrategyReport = {
    requests, meanEnergyJ: figure('meanEnergyJ', true), medianEnergyJ: figure('medianEnergyJ', false), budgetMetRate: figure('budgetMetRate', true),
    meanLatencyMs: figure('meanLatencyMs', false), p95LatencyMs: figure('p95LatencyMs', false), meanAccuracy: figure('meanAccuracy', false),
    savingsVsCloudOnly: Number.isNaN(savings) ? null : savings, configurations: configurations as Record<string, number>,
  };
  // Queueing runs only (simulate --queue): absent otherwise, and then left out.
  for (const key of ['meanQueueWaitMs', 'meanEdgeWaitMs'] as const) if (v[key] !== undefined) report[key] = figure(key, false);
  return report;
}

function readRecords(v: unknown, names: string[], bad: Bad): Record<string, RequestOutcome[]> {
  if (!isObject(v)) throw bad('records', 'must be an object of strategy name -> list of requests', v);
  const out: Record<string, RequestOutcome[]> = {};
  for (const [name, list] of Object.entries(v)) {
    if (!names.includes(name)) throw bad(`records.${name}`, `names no strategy in strategies (${names.join(', ')})`);
    if (!Array.isArray(list)) throw bad(`records.${name}`, 'must be a list', list);
    out[name] = list.map((r, i) => readRecord(r, `records.${name}[${i}]`, bad));
  }
  return out;
}

function readRecord(r: unknown, at: string, bad: Bad): RequestOutcome {
  if (!isObject(r)) throw bad(at, 'must be an object', r);
  for (const key of ['budgetMs', 'latencyMs', 'energyJ']) {
    if (typeof r[key] !== 'number' || !Number.isFinite(r[key])) throw bad(`${at}.${key}`, 'must be a number', r[key]);
  }
  const accuracy = r.accuracy ?? null;
  if (accuracy !== null && (typeof accuracy !== 'number' || !Number.isFinite(accuracy))) throw bad(`${at}.accuracy`, 'must be a number or null', accuracy);
  if (typeof r.configuration !== 'string') throw bad(`${at}.configuration`, 'must be a string', r.configuration);
  const budgetMs = r.budgetMs as number;
  const latencyMs = r.latencyMs as number;
  if (r.met !== undefined && typeof r.met !== 'boolean') throw bad(`${at}.met`, 'must be true or false', r.met);
  // Accuracy not known (null) reads as NaN, as the simulation holds it.
  return {
    budgetMs, latencyMs, energyJ: r.energyJ as number, accuracy: accuracy ?? NaN, configuration: r.configuration,
    met: (r.met as boolean | undefined) ?? latencyMs <= budgetMs,
  };
}

function readMeta(v: unknown, bad: Bad): ResultsMeta {
  if (!isObject(v)) throw bad('meta', 'must be an object', v);
  if (v.source !== undefined && v.source !== 'simulated' && v.source !== 'testbed') throw bad('meta.source', "must be 'simulated' or 'testbed'", v.source);
  if (v.sources === undefined) return v as ResultsMeta;
  if (!isObject(v.sources)) throw bad('meta.sources', 'must be an object { latency, energy, accuracy }', v.sources);
  for (const [key, spec] of Object.entries(v.sources)) {
    const ok = typeof spec === 'string' || (isObject(spec) && Object.values(spec).every((n) => typeof n === 'number' && n >= 0));
    if (!ok) throw bad(`meta.sources.${key}`, "must be a source ('measured', 'emulated', 'modelled') or runs per source", spec);
  }
  return v as ResultsMeta;
}
