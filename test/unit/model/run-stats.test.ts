/**
 * RunStats.computeMs is the inference's own time: not the event loop's other work that runs between
 * the call and the moment onnxruntime-node starts computing (it starts from a setImmediate), which
 * RunStats.waitMs reports.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { openSession, type RunStats } from '../../../model/index.ts';
import { busyFor } from '../../helpers/busy.ts';

const zoo = inject('zooDir');
/** ms the event loop is kept busy by other work queued before the run. */
const BUSY_MS = 150;

describe('RunStats.computeMs', () => {
  it('leaves out other work that holds the event loop before the inference starts, on the main thread', async () => {
    const session = await openSession(join(zoo, 'vgg16-tiny.onnx'), { threads: 1 });
    onTestFinished(() => session.release());
    const input = { input: new ort.Tensor('float32', new Float32Array(3 * 32 * 32).fill(0.5), [1, 3, 32, 32]) };
    const quiet: RunStats = {};
    await session.run(input, quiet);
    expect(quiet.computeMs).toBeGreaterThan(0);

    let busyRan = false;
    setImmediate(() => { busyFor(BUSY_MS); busyRan = true; }); // queued before the run's own immediate
    const called = performance.now();
    const loaded: RunStats = {};
    const outputs = await session.run(input, loaded);
    expect(busyRan).toBe(true);
    expect(performance.now() - called).toBeGreaterThanOrEqual(BUSY_MS);
    expect(loaded.computeMs).toBeGreaterThan(0);
    expect(loaded.computeMs).toBeLessThan(BUSY_MS);
    // ...and reports it as the run's wait, which the edge counts as queueing (Latency.edge_queue_ms).
    expect(loaded.waitMs).toBeGreaterThanOrEqual(BUSY_MS);
    expect(quiet.waitMs).toBeLessThan(BUSY_MS);
    expect(Object.keys(outputs)).toEqual(session.outputNames);
  });
});
