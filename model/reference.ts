/** The unsplit model's answers: what split runs are checked against (agreement, profiling, tests). */
import * as ort from 'onnxruntime-node';
import { openSession } from './runner.ts';

/** Index of the largest value (the top-1 class of a logits vector); the first on ties. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Top-1 class of the unsplit model on each input (one float32 tensor of `shape` each). */
export async function referenceClasses(path: string, shape: number[], inputs: Float32Array[]): Promise<number[]> {
  const session = await openSession(path, { threads: 1 });
  try {
    const classes: number[] = [];
    for (const data of inputs) {
      const out = await session.run({ [session.inputs[0].name]: new ort.Tensor('float32', data, shape) });
      classes.push(argmax(out[session.outputNames[0]].data as Float32Array));
    }
    return classes;
  } finally {
    await session.release();
  }
}
