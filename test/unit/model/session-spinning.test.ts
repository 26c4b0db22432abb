/**
 * Sessions do not keep their intra-op threads busy-waiting after a run (model/runner.ts
 * sessionOptions): onnxruntime's default would spin a thread for tens of milliseconds after each run,
 * taking a core of a small host from the node's own messaging. Measured as the CPU time of the threads
 * the session started (Linux /proc/self/task/TID/schedstat, ns on a CPU), while the main thread is
 * blocked right after a run: with spinning 33-43 ms in a 50 ms window on a 2-core host, without it
 * under 1 ms. Only those threads count: the process's other threads (V8's compiler and collector)
 * work whenever they like.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { openSession, sessionOptions } from '../../../model/index.ts';

const zoo = inject('zooDir');
/** ms the main thread blocks after the run, and the CPU time the session's threads may use meanwhile. */
const IDLE_MS = 50;
const MAX_CPU_MS = 10;

const threads = (): Set<string> => new Set(readdirSync('/proc/self/task'));
/** ms on a CPU of the threads `tids` so far; a thread that has ended counts 0. */
function cpuMs(tids: Iterable<string>): number {
  let ns = 0;
  for (const tid of tids) {
    try {
      ns += Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // ended
    }
  }
  return ns / 1e6;
}

describe('session threads', () => {
  it('are configured not to spin', () => {
    expect(sessionOptions({ threads: 2 }, 'cpu').extra).toEqual({ session: { intra_op: { allow_spinning: '0' } } });
  });

  it('leave the CPU alone once a run is over, on the main thread and in a worker thread', async () => {
    for (const thread of ['main', 'worker'] as const) {
      const before = threads();
      const session = await openSession(join(zoo, 'vgg16-tiny.onnx'), { threads: 2, thread });
      onTestFinished(() => session.release());
      const input = { input: new ort.Tensor('float32', new Float32Array(3 * 32 * 32).fill(0.5), [1, 3, 32, 32]) };
      await session.run(input);
      await session.run(input);
      const started = [...threads()].filter((tid) => !before.has(tid));
      expect(started.length, thread).toBeGreaterThan(0); // the session's pool (and, for 'worker', its thread)
      const cpuBefore = cpuMs(started);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, IDLE_MS); // this thread blocked
      expect(cpuMs(started) - cpuBefore, thread).toBeLessThan(MAX_CPU_MS);
    }
  });
});
