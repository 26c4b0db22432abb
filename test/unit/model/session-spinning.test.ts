/**
 * Sessions do not keep their intra-op threads busy-waiting after a run (model/runner.ts
 * sessionOptions): onnxruntime's default would spin a thread for tens of milliseconds after each run,
 * taking a core of a small host from the node's own messaging. Measured as the process's CPU time
 * while its main thread is blocked right after a run: with spinning it was 33-37 ms in a 50 ms window
 * on a 2-core host, without it under 1 ms.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { openSession, sessionOptions } from '../../../model/index.ts';

const zoo = inject('zooDir');
/** ms the main thread blocks after the run, and the CPU time the whole process may use meanwhile. */
const IDLE_MS = 50;
const MAX_CPU_MS = 10;

describe('session threads', () => {
  it('are configured not to spin', () => {
    expect(sessionOptions({ threads: 2 }, 'cpu').extra).toEqual({ session: { intra_op: { allow_spinning: '0' } } });
  });

  it('leave the CPU alone once a run is over, on the main thread and in a worker thread', async () => {
    for (const thread of ['main', 'worker'] as const) {
      const session = await openSession(join(zoo, 'vgg16-tiny.onnx'), { threads: 2, thread });
      onTestFinished(() => session.release());
      const input = { input: new ort.Tensor('float32', new Float32Array(3 * 32 * 32).fill(0.5), [1, 3, 32, 32]) };
      await session.run(input);
      await session.run(input);
      const before = process.cpuUsage();
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, IDLE_MS); // this thread blocked, using no CPU
      const used = process.cpuUsage(before);
      expect((used.user + used.system) / 1000, thread).toBeLessThan(MAX_CPU_MS);
    }
  });
});
