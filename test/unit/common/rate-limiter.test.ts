/**
 * The per-key token bucket, on a clock the test owns: `take(key, nowMs)` is given the time, so no
 * test waits for real time to pass.
 */
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../common/index.ts';

/** How many of `count` takes at `nowMs` are allowed. */
function allowed(limiter: RateLimiter, key: string, nowMs: number, count: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) if (limiter.take(key, nowMs)) n += 1;
  return n;
}

describe('RateLimiter', () => {
  it('allows a burst of `burst` at once, then refuses until tokens refill', () => {
    const limiter = new RateLimiter(2, 5);
    expect(allowed(limiter, 'cam-1', 0, 8)).toBe(5);
    expect(limiter.take('cam-1', 0)).toBe(false);
    // 2 tokens/s: one token after 500 ms, not before.
    expect(limiter.take('cam-1', 499)).toBe(false);
    expect(limiter.take('cam-1', 500)).toBe(true);
    expect(limiter.take('cam-1', 500)).toBe(false);
  });

  it('refills at `ratePerSecond` and never above `burst`', () => {
    const limiter = new RateLimiter(10, 3);
    expect(allowed(limiter, 'k', 0, 3)).toBe(3);
    // 250 ms at 10/s: 2.5 tokens, so two whole ones.
    expect(allowed(limiter, 'k', 250, 5)).toBe(2);
    // An hour idle fills the bucket to 3, not to 36 000.
    expect(allowed(limiter, 'k', 3_600_250, 10)).toBe(3);
  });

  it('keeps the average rate over a long run of steady sends', () => {
    const limiter = new RateLimiter(5, 1);
    // A send every 50 ms (20/s) for 10 s against a 5/s limit: 1 (burst) + 5/s * 10 s.
    let n = 0;
    for (let t = 0; t <= 10_000; t += 50) if (limiter.take('fast', t)) n += 1;
    expect(n).toBe(51);
  });

  it('keeps one bucket per key', () => {
    const limiter = new RateLimiter(1, 1);
    expect(limiter.take('a', 0)).toBe(true);
    expect(limiter.take('a', 0)).toBe(false);
    expect(limiter.take('b', 0)).toBe(true);
    expect(limiter.size).toBe(2);
  });

  it('defaults the burst to the rate, and to 1 below 1/s', () => {
    expect(allowed(new RateLimiter(4), 'k', 0, 10)).toBe(4);
    const slow = new RateLimiter(0.5);
    expect(allowed(slow, 'k', 0, 3)).toBe(1);
    expect(slow.take('k', 1999)).toBe(false);
    expect(slow.take('k', 2000)).toBe(true);
  });

  it('rate 0 is unlimited and keeps no state', () => {
    const limiter = new RateLimiter(0);
    expect(allowed(limiter, 'k', 0, 1000)).toBe(1000);
    expect(limiter.size).toBe(0);
  });

  it('forgets keys whose bucket has refilled once it tracks more than 10 000', () => {
    const limiter = new RateLimiter(1, 1);
    for (let i = 0; i < 10_000; i++) limiter.take(`old-${i}`, 0);
    expect(limiter.size).toBe(10_000);
    // 1 s later every old bucket is full again; the 10 001st key triggers the sweep.
    limiter.take('new', 1000);
    expect(limiter.size).toBe(1);
    // A key still short of tokens is kept: 'new' took its token at 1000 ms.
    for (let i = 0; i < 10_000; i++) limiter.take(`later-${i}`, 1500);
    expect(limiter.size).toBe(10_001);
    limiter.take('one-more', 1500);
    expect(limiter.size).toBe(10_002);
  });
});
