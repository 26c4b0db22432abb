/**
 * Latency budgets for generated requests, drawn from a distribution written as a short spec:
 *   fixed:MS | uniform:MIN:MAX | exponential:MEAN | weibull:SHAPE:SCALE | file:PATH
 * All values in ms. A file holds one budget per line (blank lines and # comments skipped), used in
 * order and cycled. Draws are seeded, so a run is reproducible.
 */
import { readFileSync } from 'node:fs';
import { DynasplitError, ErrorCodes, tensorRng } from '../common/index.ts';

export type BudgetSampler = () => number;

export function budgetSampler(spec: string, seed = 1): BudgetSampler {
  const [kind, ...args] = spec.split(':');
  const rng = tensorRng(seed, `budgets:${spec}`);
  const uniform = () => rng.nextFloat();
  const nums = (count: number) => {
    const values = args.map(Number);
    if (values.length !== count || values.some((v) => !Number.isFinite(v) || v <= 0)) throw bad(spec);
    return values;
  };
  switch (kind) {
    case 'fixed': {
      const [ms] = nums(1);
      return () => ms;
    }
    case 'uniform': {
      const [min, max] = nums(2);
      if (max < min) throw bad(spec);
      return () => min + (max - min) * uniform();
    }
    case 'exponential': {
      const [mean] = nums(1);
      return () => -mean * Math.log(1 - uniform());
    }
    case 'weibull': {
      const [shape, scale] = nums(2);
      // Inverse CDF: scale * (-ln(1 - u))^(1/shape)
      return () => scale * Math.pow(-Math.log(1 - uniform()), 1 / shape);
    }
    case 'file':
      return fileSampler(args.join(':'));
    default:
      throw bad(spec);
  }
}

function fileSampler(path: string): BudgetSampler {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `budget file ${path} cannot be read: ${(cause as Error).message}`, { cause });
  }
  const values: number[] = [];
  text.split('\n').forEach((line, i) => {
    const trimmed = line.replace(/#.*/, '').trim();
    if (!trimmed) return;
    const value = Number(trimmed);
    if (!Number.isFinite(value) || value <= 0) {
      throw new DynasplitError(ErrorCodes.BAD_ARGS, `${path}:${i + 1}: '${trimmed}' is not a positive number of ms`);
    }
    values.push(value);
  });
  if (values.length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, `budget file ${path} holds no budgets`);
  let next = 0;
  return () => values[next++ % values.length];
}

function bad(spec: string): DynasplitError {
  return new DynasplitError(ErrorCodes.BAD_ARGS,
    `budget distribution '${spec}' is not one of fixed:MS, uniform:MIN:MAX, exponential:MEAN, weibull:SHAPE:SCALE, file:PATH (positive ms)`);
}
