import { describe, expect, it } from 'vitest';
import { Limiter } from '../../../common/index.ts';

const gate = () => {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => { open = resolve; });
  return { promise, open };
};

describe('Limiter', () => {
  it('runs at most `concurrency` tasks, queues up to `maxQueued`, refuses the rest', async () => {
    const limiter = new Limiter(2, 1);
    const gates = [gate(), gate(), gate()];
    let running = 0;
    let peak = 0;
    const task = (g: ReturnType<typeof gate>) => limiter.run(async () => {
      peak = Math.max(peak, ++running);
      await g.promise;
      running--;
      return 'done';
    });
    const results = [task(gates[0]), task(gates[1]), task(gates[2])];
    await expect(limiter.run(async () => 'x')).rejects.toMatchObject({ code: 'DYNASPLIT_ERR_OVERLOADED' });
    expect([limiter.active, limiter.queued]).toEqual([2, 1]);
    gates.forEach((g) => g.open());
    expect(await Promise.all(results)).toEqual(['done', 'done', 'done']);
    expect(peak).toBe(2);
    await limiter.drain();
    expect([limiter.active, limiter.queued]).toEqual([0, 0]);
  });

  it('a failing task frees its slot', async () => {
    const limiter = new Limiter(1, 1);
    await expect(limiter.run(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await limiter.run(async () => 7)).toBe(7);
  });

  it('a slot held across steps passes to the next in line when released, once however often it is released', async () => {
    const limiter = new Limiter(1, 2);
    const first = await limiter.acquire();
    const order: string[] = [];
    const second = limiter.acquire().then((slot) => { order.push('second'); return slot; });
    const third = limiter.acquire().then((slot) => { order.push('third'); return slot; });
    expect([limiter.active, limiter.queued]).toEqual([1, 2]);
    first.release();
    first.release(); // a second release must not free another slot
    const held = await second;
    expect(order).toEqual(['second']);
    expect([limiter.active, limiter.queued]).toEqual([1, 1]);
    held.release();
    (await third).release();
    expect(order).toEqual(['second', 'third']);
    await limiter.drain();
    expect([limiter.active, limiter.queued]).toEqual([0, 0]);
  });
});
