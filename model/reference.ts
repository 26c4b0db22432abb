/** The unsplit model's answers: what split runs are checked against (agreement, profiling, tests). */
import * as ort from 'onnxruntime-node';
import { decodeTensor } from '../codec/index.ts';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import type { ResultProperties } from '../schemas/index.ts';
import type { TensorDesc } from './inspect.ts';
import { openSession, type ModelSession } from './runner.ts';

/** Index of the largest value (the top-1 class of a logits vector); the first on ties. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * What two runs of a model must share to agree (verify, profiling, the testbed; docs/models.md,
 * "Agreement"): 'top1', the top-1 class of a float output of two or more values a sample (logits,
 * scores); 'exact', every value of an integer or bool output (a class index, a label map); 'none'
 * for an output of one float (a regression, a sigmoid), which no lossy codec keeps exactly: such
 * an answer is not judged, and every configuration counts as agreeing.
 */
export type AnswerKind = 'top1' | 'exact' | 'none';
/** A top-1 class, the values of an integer output (comma-joined), or undefined (not judged, or no answer). */
export type Answer = number | string | undefined;

export function answerKind(dtype: string, elementsPerSample: number): AnswerKind {
  if (!dtype.startsWith('float')) return 'exact';
  return elementsPerSample >= 2 ? 'top1' : 'none';
}

/** The kind of answer of the output named `output` (default the first), its dims bound (batch 1). */
export function answerKindOf(outputs: readonly TensorDesc[], output?: string): AnswerKind {
  const desc = output === undefined ? outputs[0] : outputs.find((o) => o.name === output);
  return desc ? answerKind(desc.dtype, desc.shape.reduce((a, b) => a * b, 1)) : 'none';
}

/** The answer an output's values give; int64 values may come as bigints, or as numbers after a result's float32 round trip. */
export function answerOf(kind: AnswerKind, data: ArrayLike<number | bigint>): Answer {
  if (kind === 'none' || data.length === 0) return undefined;
  if (kind === 'top1') return argmax(data as ArrayLike<number>);
  return Array.from(data, (v) => String(v)).join(',');
}

/** The unsplit model's answer (answerOf, its first output) on each input (one float32 tensor of `shape` each, fed to its first input). */
export async function referenceClasses(path: string, shape: number[], inputs: Float32Array[]): Promise<Answer[]> {
  return top1(path, (session) => inputs.map((data) => ({ [session.inputs[0].name]: new ort.Tensor('float32', data, shape) })));
}

/**
 * The unsplit model's answer (answerOf) on each set of inputs, a model with several inputs included:
 * `feeds[i]` holds float32 values by input name, shaped as `inputs` (the model's inputs, dims bound)
 * says; `output` names the output read (a card's classification tensor; default the first).
 */
export async function referenceClassesOf(
  path: string, inputs: readonly { name: string; shape: readonly number[] }[], feeds: readonly Record<string, Float32Array>[], output?: string,
): Promise<Answer[]> {
  const tensor = (values: Record<string, Float32Array>, d: { name: string; shape: readonly number[] }) => {
    const data = values[d.name];
    if (!data) throw new DynasplitError(ErrorCodes.BAD_INPUT, `${path}: no values for input '${d.name}'`, { details: { tensor: d.name } });
    return new ort.Tensor('float32', data, [...d.shape]);
  };
  return top1(path, () => feeds.map((values) => Object.fromEntries(inputs.map((d) => [d.name, tensor(values, d)]))), output);
}

/**
 * The answer a Result gives, whatever its card: a `classification` card's `class_index`, or for a
 * `raw` card (class_index and top_k unset; schemas/pipeline.proto Result.outputs) answerOf the output
 * named `output` (default the first), judged as `kind` says (answerKindOf the model's outputs), as
 * verify judges agreement. Undefined when the Result holds no answer or the kind is not judged. What
 * profiling and the testbed compare with referenceClassesOf on the same inputs.
 */
export function resultClass(result: ResultProperties, output: string | undefined, kind: AnswerKind): Answer {
  // A one-float output has no class, whatever card reports one (the reference side gives undefined too).
  if (kind === 'none') return undefined;
  if ((result.top_k?.length ?? 0) > 0) return result.class_index ?? 0;
  const outputs = result.outputs ?? [];
  const tensor = output === undefined ? outputs[0] : outputs.find((t) => t.name === output);
  return tensor ? answerOf(kind, decodeTensor(tensor).data) : undefined;
}

async function top1(path: string, feedsOf: (session: ModelSession) => Record<string, ort.Tensor>[], output?: string): Promise<Answer[]> {
  const session = await openSession(path, { threads: 1 });
  try {
    const classes: Answer[] = [];
    for (const feeds of feedsOf(session)) {
      const out = (await session.run(feeds))[output ?? session.outputNames[0]];
      classes.push(answerOf(answerKind(out.type, out.data.length), out.data as ArrayLike<number | bigint>));
    }
    return classes;
  } finally {
    await session.release();
  }
}
