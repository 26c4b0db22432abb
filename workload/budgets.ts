/**
 * Latency budgets (ms) of a workload, written as one short spec everywhere (sensor, demo, eval
 * simulate, eval testbed):
 *
 *   fixed:MS | uniform:MIN:MAX | exponential:MEAN | weibull:SHAPE:SCALE | weibull:SHAPE | file:PATH | PATH
 *
 * `weibull:SHAPE` has no scale of its own: it is scaled to a latency range the caller gives (the
 * fastest and slowest configurations of a measurement pool), and refused where there is none. A file
 * holds one budget per line (blank lines and `#` comments skipped), used in order and cycled. Draws are
 * seeded by (seed, spec), so a run is reproducible.
 */
import { existsSync, readFileSync } from 'node:fs';
import { DynasplitError, ErrorCodes, tensorRng } from '../common/index.ts';

/** The spec syntax, for help texts and error messages. */
export const BUDGET_SPECS = 'fixed:MS, uniform:MIN:MAX, exponential:MEAN, weibull:SHAPE:SCALE, weibull:SHAPE (scaled to the latency range), file:PATH or PATH';

export type BudgetSampler = () => number;

export type BudgetSpec =
  | { kind: 'fixed'; ms: number }
  | { kind: 'uniform'; min: number; max: number }
  | { kind: 'exponential'; mean: number }
  | { kind: 'weibull'; shape: number; scale?: number }
  | { kind: 'file'; path: string };

/** Least and greatest latency (ms) a `weibull:SHAPE` budget is scaled to. */
export interface LatencyRange { fastestMs: number; slowestMs: number }

export interface SamplerOptions {
  /** default 1 */
  seed?: number;
  /** Needed by `weibull:SHAPE` only. */
  range?: LatencyRange;
}

const ARITY: Record<string, number[]> = { fixed: [1], uniform: [2], exponential: [1], weibull: [1, 2] };

/**
 * Parses a spec. A distribution's name before the first ':' decides; otherwise `file:PATH`, or the
 * spec is a path (an existing file when it holds a ':'; anything else refused with BAD_ARGS).
 */
export function parseBudgetSpec(spec: string): BudgetSpec {
  const [kind, ...args] = spec.split(':');
  const arity = ARITY[kind];
  if (arity && args.length > 0) return distribution(spec, kind, args.map(Number), arity);
  if (kind === 'file' && args.length > 0) return { kind: 'file', path: args.join(':') };
  // A bare name ('fixed', 'weibull') or an unknown 'name:...' that is no file is a mistyped distribution.
  if (arity || !spec || (spec.includes(':') && !existsSync(spec))) throw bad(spec);
  return { kind: 'file', path: spec };
}

/** Whether `spec` names a distribution rather than a file (no file is read; malformed specs are refused). */
export function isDistribution(spec: string): boolean {
  return parseBudgetSpec(spec).kind !== 'file';
}

function distribution(spec: string, kind: string, values: number[], arity: number[]): BudgetSpec {
  if (!arity.includes(values.length) || values.some((v) => !Number.isFinite(v) || v <= 0)) throw bad(spec);
  const [a, b] = values;
  switch (kind) {
    case 'fixed': return { kind, ms: a };
    case 'uniform':
      if (b < a) throw bad(spec);
      return { kind, min: a, max: b };
    case 'exponential': return { kind, mean: a };
    default: return { kind: 'weibull', shape: a, ...(b === undefined ? {} : { scale: b }) };
  }
}

/**
 * A seeded sampler for `spec`. `weibull:SHAPE` with a range:
 *
 *   budget = fastest + (slowest - fastest) * W,  W ~ Weibull(SHAPE, 1)
 *
 * Every budget is then at least the fastest latency; P(W < 1) = 1 - 1/e for any shape, so about 63%
 * fall inside the range and the rest above it. When fastest = slowest the range is the fastest itself
 * (budget = fastest * (1 + W)).
 */
export function budgetSampler(spec: string, options: SamplerOptions = {}): BudgetSampler {
  const parsed = parseBudgetSpec(spec);
  const rng = tensorRng(options.seed ?? 1, `budgets:${spec}`);
  const uniform = () => rng.nextFloat();
  // Inverse CDF of Weibull(shape, 1): (-ln(1 - u))^(1/shape)
  const weibull = (shape: number) => Math.pow(-Math.log(1 - uniform()), 1 / shape);
  switch (parsed.kind) {
    case 'fixed': return () => parsed.ms;
    case 'uniform': return () => parsed.min + (parsed.max - parsed.min) * uniform();
    case 'exponential': return () => -parsed.mean * Math.log(1 - uniform());
    case 'weibull': {
      if (parsed.scale !== undefined) return () => parsed.scale! * weibull(parsed.shape);
      const { fastestMs, slowestMs } = options.range ?? scaleNeeded(spec);
      const range = slowestMs - fastestMs || fastestMs;
      return () => fastestMs + range * weibull(parsed.shape);
    }
    case 'file': {
      const values = readBudgetFile(parsed.path);
      let next = 0;
      return () => values[next++ % values.length];
    }
  }
}

/** A file spec read to its budgets; a distribution spec checked and returned as it is. */
export function readBudgets(spec: string): string | number[] {
  const parsed = parseBudgetSpec(spec);
  return parsed.kind === 'file' ? readBudgetFile(parsed.path) : spec;
}

export function readBudgetFile(path: string): number[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `budget file ${path} cannot be read: ${(cause as Error).message}`, { cause, details: { file: path } });
  }
  return parseBudgetFile(text, path);
}

/** One budget (ms, > 0) per line; blank lines and `#` comments are skipped. `source` names the file in errors. */
export function parseBudgetFile(text: string, source = 'budgets'): number[] {
  const values: number[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.replace(/#.*/, '').trim();
    if (!trimmed) return;
    const value = Number(trimmed);
    if (!Number.isFinite(value) || value <= 0) {
      throw new DynasplitError(ErrorCodes.BAD_ARGS, `${source}:${i + 1}: '${trimmed}' is not a positive number of ms`, { details: { line: i + 1 } });
    }
    values.push(value);
  });
  if (values.length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, `${source} holds no budgets`);
  return values;
}

function scaleNeeded(spec: string): never {
  throw new DynasplitError(ErrorCodes.BAD_ARGS,
    `budget distribution '${spec}' needs a scale here: give weibull:SHAPE:SCALE (ms); weibull:SHAPE alone is scaled to a measurement pool's latency range`,
    { details: { spec, needs: 'scale' } });
}

function bad(spec: string): DynasplitError {
  return new DynasplitError(ErrorCodes.BAD_ARGS, `budget distribution '${spec}' is not one of ${BUDGET_SPECS} (positive ms; SHAPE > 0)`, { details: { spec } });
}
