/**
 * How verify judges a split's output against the full model's: by the error relative to the
 * output's own scale (its largest magnitude over all inputs), so a model whose outputs are ~1e-9 is
 * judged as strictly as one whose outputs are ~10. An output whose scale is too small (or not
 * finite) to judge is flagged, never passed. Integer and bool outputs must match exactly.
 */
import type * as ort from 'onnxruntime-node';

/** A float split must reproduce the full model to this, relative to the output's own scale. */
export const FP32_TOLERANCE = 1e-5;

/**
 * Outputs whose largest magnitude over all inputs is below this cannot be judged: at 1e-30 an fp32
 * value is within 8 decades of the denormals (1.2e-38), where relative precision is lost; zero
 * outputs say nothing about a split.
 */
export const MIN_JUDGEABLE_SCALE = 1e-30;

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

/** Accumulates the worst difference of each output over inputs, then judges it. */
export class OutputJudge {
  readonly #scales: Map<string, number>;
  readonly #worst = new Map<string, number>();
  readonly #float = new Map<string, boolean>();

  constructor(expected: readonly Outputs[]) {
    this.#scales = outputScales(expected);
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
      const verdict: Verdict = exact ? (maxAbsDiff === 0 ? 'ok' : 'fail')
        : !Number.isFinite(scale) ? 'not-finite'
        : scale < MIN_JUDGEABLE_SCALE ? 'too-small'
        : relErr <= tolerance ? 'ok' : 'fail';
      return { name, maxAbsDiff, scale, relErr, verdict };
    });
  }
}
