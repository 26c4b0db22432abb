/**
 * Head + tail back to back in this process, no messaging: the baseline the pipeline benches compare
 * their round trips and throughput against.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelStore, SessionCache } from '../model/index.ts';
import { syntheticInputs } from '../workload/index.ts';
import { time } from './harness.ts';

export interface PipelineCase { model: string; cut: string; requests: number }

/**
 * Median head+tail compute (ms), 1 thread, after a second of untimed runs (V8 and onnxruntime warm, as
 * the pipeline benches' nodes are), over at least min(requests, 50) runs and a second; parts are
 * written under `cacheDir`.
 */
export async function inProcess(cacheDir: string, path: string, c: PipelineCase): Promise<{ computeMs: number; requestsPerSecond: number }> {
  const sessions = new SessionCache({ threads: 1 });
  const store = new ModelStore({ workDir: join(cacheDir, 'bench-parts'), sessions });
  try {
    const served = await store.add(c.model, path);
    const input = new ort.Tensor('float32', syntheticInputs(served.inputShape, 3, 1)[0].data, served.inputShape);
    const run = async () => store.run(c.model, 'tail', c.cut, await store.run(c.model, 'head', c.cut, input));
    const t = await time(run, { runs: Math.min(c.requests, 50), warmup: 2, warmupMs: 1000, minMs: 1000 });
    return { computeMs: t.medianMs, requestsPerSecond: 1000 / t.medianMs };
  } finally {
    store.removeParts();
    await sessions.close();
  }
}
