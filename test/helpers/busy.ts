/**
 * Work that holds the event loop, for tests of what a node reports as waiting rather than compute
 * (onnxruntime-node starts an inference from a setImmediate; under load other work comes first).
 */
import * as ort from 'onnxruntime-node';

/** Keeps this thread busy for `ms`. */
export function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* the event loop is held */ }
}

/**
 * Runs `work` with every onnxruntime-node session of this thread busy for `ms` between a run's call
 * and the inference's start, as a loaded node's other I/O keeps it; restores the sessions after.
 */
export async function withBusyInferenceStart<T>(ms: number, work: () => Promise<T>): Promise<T> {
  const proto = (ort.InferenceSession as unknown as { prototype: { run: (...args: unknown[]) => unknown } }).prototype;
  const run = proto.run;
  proto.run = function busyFirst(this: unknown, ...args: unknown[]) {
    busyFor(ms);
    return run.apply(this, args);
  };
  try {
    return await work();
  } finally {
    proto.run = run;
  }
}
