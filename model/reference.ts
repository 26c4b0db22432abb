/** The unsplit model's answers: what split runs are checked against (agreement, profiling, tests). */
import * as ort from 'onnxruntime-node';
import { decodeTensor } from '../codec/index.ts';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import type { ResultProperties } from '../schemas/index.ts';
import { openSession, type ModelSession } from './runner.ts';

/** Index of the largest value (the top-1 class of a logits vector); the first on ties. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Top-1 class of the unsplit model on each input (one float32 tensor of `shape` each, fed to its first input). */
export async function referenceClasses(path: string, shape: number[], inputs: Float32Array[]): Promise<number[]> {
  return top1(path, (session) => inputs.map((data) => ({ [session.inputs[0].name]: new ort.Tensor('float32', data, shape) })));
}

/**
 * Top-1 class of the unsplit model on each set of inputs, a model with several inputs included:
 * `feeds[i]` holds float32 values by input name, shaped as `inputs` (the model's inputs, dims bound)
 * says; `output` names the output read (a card's classification tensor; default the first).
 */
export async function referenceClassesOf(
  path: string, inputs: readonly { name: string; shape: readonly number[] }[], feeds: readonly Record<string, Float32Array>[], output?: string,
): Promise<number[]> {
  const tensor = (values: Record<string, Float32Array>, d: { name: string; shape: readonly number[] }) => {
    const data = values[d.name];
    if (!data) throw new DynasplitError(ErrorCodes.BAD_INPUT, `${path}: no values for input '${d.name}'`, { details: { tensor: d.name } });
    return new ort.Tensor('float32', data, [...d.shape]);
  };
  return top1(path, () => feeds.map((values) => Object.fromEntries(inputs.map((d) => [d.name, tensor(values, d)]))), output);
}

/**
 * The top-1 class a Result answers, whatever its card: a `classification` card's `class_index`, or
 * for a `raw` card (class_index and top_k unset; schemas/pipeline.proto Result.outputs) the argmax of
 * the output named `output` (default the first), as verify judges agreement. Undefined when the Result
 * holds no answer. What profiling and the testbed compare with referenceClassesOf on the same inputs.
 */
export function resultClass(result: ResultProperties, output?: string): number | undefined {
  if ((result.top_k?.length ?? 0) > 0) return result.class_index ?? 0;
  const outputs = result.outputs ?? [];
  const tensor = output === undefined ? outputs[0] : outputs.find((t) => t.name === output);
  if (!tensor) return undefined;
  const { data } = decodeTensor(tensor);
  return data.length > 0 ? argmax(data) : undefined;
}

async function top1(path: string, feedsOf: (session: ModelSession) => Record<string, ort.Tensor>[], output?: string): Promise<number[]> {
  const session = await openSession(path, { threads: 1 });
  try {
    const classes: number[] = [];
    for (const feeds of feedsOf(session)) {
      const out = await session.run(feeds);
      classes.push(argmax(out[output ?? session.outputNames[0]].data as Float32Array));
    }
    return classes;
  } finally {
    await session.release();
  }
}
