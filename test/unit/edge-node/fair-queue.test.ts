import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../common/index.ts';
import { FairQueue } from '../../../edge-node/fair-queue.ts';

/** A task that runs until released. */
function held(): { task: () => Promise<void>; release: () => void; started: Promise<void> } {
  let release!: () => void;
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const done = new Promise<void>((resolve) => (release = resolve));
  return { task: () => (markStarted(), done), release, started };
}

describe('FairQueue', () => {
  it('gives one sensor at most its share of the slots, and the next free slots to the others in turn', async () => {
    const queue = new FairQueue({ slots: 4, perSensor: 2, maxQueued: 100, maxQueuedPerSensor: 100 });
    const order: string[] = [];
    const a = Array.from({ length: 6 }, () => held());
    const runs = a.map((h, i) => queue.run('A', async () => { order.push(`A${i}`); await h.task(); }));
    expect(queue.active).toBe(2); // A holds its share; two slots stay free
    const b = Array.from({ length: 3 }, () => held());
    const bRuns = b.map((h, i) => queue.run('B', async () => { order.push(`B${i}`); await h.task(); }));
    expect(queue.active).toBe(4);
    expect(order).toEqual(['A0', 'A1', 'B0', 'B1']);
    // A slot of A frees: A's next frame takes it (B is at its share); then B's frees: B's next.
    a[0].release();
    await a[2].started;
    b[0].release();
    await b[2].started;
    expect(order).toEqual(['A0', 'A1', 'B0', 'B1', 'A2', 'B2']);
    [...a, ...b].forEach((h) => h.release());
    await Promise.all([...runs, ...bRuns]);
    await queue.drain();
    expect(queue.active).toBe(0);
  });

  it('serves waiting sensors round-robin, not first come first served', async () => {
    const queue = new FairQueue({ slots: 1, perSensor: 1, maxQueued: 100, maxQueuedPerSensor: 100 });
    const order: string[] = [];
    const first = held();
    const running = queue.run('A', first.task);
    const waiting = [
      ...['A', 'A', 'A'].map((s, i) => queue.run(s, async () => { order.push(`${s}${i}`); })),
      queue.run('B', async () => { order.push('B'); }),
      queue.run('C', async () => { order.push('C'); }),
    ];
    first.release();
    await Promise.all([running, ...waiting]);
    expect(order).toEqual(['A0', 'B', 'C', 'A1', 'A2']);
  });

  it('refuses beyond a sensor\'s queue share while another sensor is still taken', async () => {
    const queue = new FairQueue({ slots: 1, perSensor: 1, maxQueued: 3, maxQueuedPerSensor: 2 });
    const first = held();
    const runs = [queue.run('A', first.task), queue.run('A', async () => undefined), queue.run('A', async () => undefined)];
    expect(queue.refusal('A')).toMatchObject({ code: ErrorCodes.OVERLOADED, retryable: true });
    await expect(queue.run('A', async () => undefined)).rejects.toMatchObject({ code: ErrorCodes.OVERLOADED });
    expect(queue.refusal('B')).toBeUndefined();
    runs.push(queue.run('B', async () => undefined));
    expect(queue.refusal('C')).toMatchObject({ code: ErrorCodes.OVERLOADED }); // the whole queue is full now
    first.release();
    await Promise.all(runs);
  });
});
