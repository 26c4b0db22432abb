/**
 * How verify judges a split's output against the full model's: by the error relative to the
 * output's own scale (its largest magnitude over all inputs), so a model whose outputs are ~1e-9 is
 * judged as strictly as one whose outputs are ~10. An output whose scale is too small (or not
 * finite) to judge is flagged, never passed. Integer and bool outputs must match exactly.
 *
 * onnxruntime's graph optimisations reorder float arithmetic (fusions, constant folding), so the
 * full model itself differs between optimisation levels by some rounding: its "noise floor", the
 * largest |optimised - unoptimised| of each output over the same inputs. A split stops fusions across
 * its cut, so it is one more legitimate evaluation order: a difference within a few times that floor
 * is rounding, not a wrong split, even where it exceeds the tolerance relative to a small output
 * (a detector's sigmoid map on noise input peaks at ~5e-3; 2e-7 of rounding is 4e-5 of that).
 */
import type * as ort from 'onnxruntime-node';

/** A float split must reproduce the full model to this, relative to the output's own scale. */
export const FP32_TOLERANCE = 1e-5;

/**
 * The same at a cut whose tensor is float16 (a model converted to half precision inside): the tail
 * starts from values rounded to binary16 (unit roundoff 2^-11, ~4.9e-4), a rounding onnxruntime may
 * leave out of the whole model, where it removes a Cast to float16 and back around a kernel it runs in
 * float32. Twice the unit roundoff.
 */
export const FP16_CUT_TOLERANCE = 1e-3;

/**
 * Outputs whose largest magnitude over all inputs is below this cannot be judged: at 1e-30 an fp32
 * value is within 8 decades of the denormals (1.2e-38), where relative precision is lost; zero
 * outputs say nothing about a split.
 */
export const MIN_JUDGEABLE_SCALE = 1e-30;

/**
 * A split's difference within this many times the full model's own noise floor is rounding: the
 * head and the tail each reorder arithmetic as the whole model's optimisations do, so twice the floor
 * is reachable by rounding alone; 4 leaves room for the two parts' errors to compound.
 */
export const NOISE_FLOOR_MULTIPLE = 4;

/**
 * A floor above this share of the output's scale is not rounding (a model that draws random numbers,
 * or one that changes with the optimisation level for another reason): it is not used, so it cannot
 * pass a split that does not reproduce the model.
 */
export const MAX_NOISE_FLOOR = 1e-3;

/** 'too-small' and 'not-finite': the full model's output cannot judge the split; neither passes. */
export type Verdict = 'ok' | 'fail' | 'too-small' | 'not-finite';

export interface OutputCheck {
  name: string;
  /** Largest |split - full| over all inputs. */
  maxAbsDiff: number;
  /** Largest |full| over all inputs: what the error is judged against (1 for integer outputs). */
  scale: number;
  /** maxAbsDiff / scale. */
  relErr: number;
  /** Largest |optimised - unoptimised| of the full model's output (0 when not measured). */
  noiseFloor: number;
  verdict: Verdict;
}

type Outputs = Record<string, ort.Tensor>;

const isFloat = (t: ort.Tensor) => t.type === 'float32' || t.type === 'float64' || t.type === 'float16';

/** Largest magnitude of each output over all reference runs (Infinity when one is not finite). */
export function outputScales(expected: readonly Outputs[]): Map<string, number> {
  const scales = new Map<string, number>();
  for (const outputs of expected) {
    for (const [name, t] of Object.entries(outputs)) {
      let scale = scales.get(name) ?? 0;
      if (!isFloat(t)) scale = 1;
      else for (const v of t.data as Float32Array) scale = Number.isFinite(v) ? Math.max(scale, Math.abs(v)) : Infinity;
      scales.set(name, scale);
    }
  }
  return scales;
}

/** Largest element difference between two outputs (Infinity on a size mismatch or NaN). */
export function maxAbsDiff(a: ort.Tensor, b: ort.Tensor): number {
  const x = a.data as ArrayLike<number | bigint>;
  const y = b.data as ArrayLike<number | bigint>;
  if (x.length !== y.length || a.type !== b.type) return Infinity;
  let max = 0;
  for (let i = 0; i < y.length; i++) {
    const d = Math.abs(Number(x[i]) - Number(y[i]));
    if (Number.isNaN(d)) return Infinity;
    if (d > max) max = d;
  }
  return max;
}

/**
 * Each float output's noise floor: the largest difference between the full model's outputs under
 * onnxruntime's optimisations (`optimised`) and without them (`plain`), over the same inputs.
 */
export function noiseFloors(optimised: readonly Outputs[], plain: readonly Outputs[]): Map<string, number> {
  const scales = outputScales(optimised);
  const floors = new Map<string, number>();
  for (const [i, outputs] of optimised.entries()) {
    for (const [name, t] of Object.entries(outputs)) {
      const other = plain[i]?.[name];
      if (!isFloat(t) || !other) continue;
      const diff = maxAbsDiff(t, other);
      // A non-finite difference (NaN, size mismatch) is no rounding: it sets no floor.
      if (Number.isFinite(diff)) floors.set(name, Math.max(floors.get(name) ?? 0, diff));
    }
  }
  for (const [name, floor] of floors) if (!(floor <= MAX_NOISE_FLOOR * (scales.get(name) ?? 0))) floors.set(name, 0);
  return floors;
}

/** Accumulates the worst difference of each output over inputs, then judges it. */
export class OutputJudge {
  readonly #scales: Map<string, number>;
  readonly #worst = new Map<string, number>();
  readonly #float = new Map<string, boolean>();
  readonly #floors: ReadonlyMap<string, number>;

  /** `floors`: each output's noise floor (noiseFloors), when measured. */
  constructor(expected: readonly Outputs[], floors: ReadonlyMap<string, number> = new Map()) {
    this.#scales = outputScales(expected);
    this.#floors = floors;
  }

  add(actual: Outputs, expected: Outputs): void {
    for (const [name, want] of Object.entries(expected)) {
      const got = actual[name];
      const diff = got ? maxAbsDiff(got, want) : Infinity;
      this.#worst.set(name, Math.max(this.#worst.get(name) ?? 0, diff));
      this.#float.set(name, isFloat(want));
    }
  }

  checks(tolerance = FP32_TOLERANCE): OutputCheck[] {
    return [...this.#worst].map(([name, maxAbsDiff]) => {
      const scale = this.#scales.get(name) ?? 0;
      const exact = !this.#float.get(name);
      const relErr = exact || maxAbsDiff === 0 ? maxAbsDiff : maxAbsDiff / scale;
      const noiseFloor = exact ? 0 : this.#floors.get(name) ?? 0;
      const verdict: Verdict = exact ? (maxAbsDiff === 0 ? 'ok' : 'fail')
        : !Number.isFinite(scale) ? 'not-finite'
        : scale < MIN_JUDGEABLE_SCALE ? 'too-small'
        : relErr <= tolerance || maxAbsDiff <= NOISE_FLOOR_MULTIPLE * noiseFloor ? 'ok' : 'fail';
      return { name, maxAbsDiff, scale, relErr, noiseFloor, verdict };
    });
  }
}
