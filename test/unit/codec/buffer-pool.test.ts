import { describe, expect, it } from 'vitest';
import { BufferPool, sizeClass } from '../../../codec/index.ts';

describe('sizeClass', () => {
  it('rounds up to a quarter of the power of two, at most 25% over', () => {
    expect([0, 1, 16, 17, 20, 21, 32, 33, 40, 1000, 1024, 1025].map(sizeClass)).toEqual([16, 16, 16, 20, 20, 24, 32, 40, 40, 1024, 1024, 1280]);
    for (const count of [17, 100, 150_528, 200_704, 3_211_264, 2 ** 30]) {
      const size = sizeClass(count);
      expect(size).toBeGreaterThanOrEqual(count);
      expect(size).toBeLessThanOrEqual(count * 1.25);
      expect(sizeClass(size)).toBe(size);
    }
  });

  it('refuses a count that is not a non-negative integer', () => {
    for (const bad of [-1, 1.5, NaN]) expect(() => sizeClass(bad)).toThrow(RangeError);
  });
});

describe('BufferPool', () => {
  it('hands a released buffer out again, for any count of its size class', () => {
    const pool = new BufferPool();
    const a = pool.acquire(1000);
    expect(a.length).toBe(1024);
    expect(pool.release(a.subarray(0, 1000))).toBe(true);
    expect(pool.acquire(1010)).toBe(a);
    expect(pool.stats()).toMatchObject({ hits: 1, misses: 1, out: 1, idle: 0 });
  });

  it('never hands the same buffer out twice while it is held', () => {
    const pool = new BufferPool();
    const held = [pool.acquire(64), pool.acquire(64), pool.acquire(64)];
    expect(new Set(held).size).toBe(3);
    expect(new Set(held.map((b) => b.buffer)).size).toBe(3);
    pool.release(held[1]);
    const again = [pool.acquire(64), pool.acquire(64)];
    expect(again[0]).toBe(held[1]);
    expect(held).not.toContain(again[1]);
  });

  it('gives a buffer of another size class for another size', () => {
    const pool = new BufferPool();
    const small = pool.acquire(100);
    pool.release(small);
    const large = pool.acquire(5000);
    expect(large).not.toBe(small);
    expect(large.length).toBe(sizeClass(5000));
    expect(pool.stats()).toMatchObject({ idle: 1, hits: 0, misses: 2 });
  });

  it('ignores a second release of the same buffer', () => {
    const pool = new BufferPool();
    const a = pool.acquire(100);
    expect(pool.release(a)).toBe(true);
    expect(pool.release(a)).toBe(false);
    expect(pool.stats()).toMatchObject({ idle: 1, out: 0 });
    const b = pool.acquire(100);
    expect(b).toBe(a);
    expect(pool.acquire(100)).not.toBe(a);
  });

  it('ignores arrays it did not hand out, whatever their size', () => {
    const pool = new BufferPool();
    expect(pool.release(new Float32Array(sizeClass(100)))).toBe(false);
    expect(pool.release(new Float32Array(100))).toBe(false);
    expect(pool.release(new Uint8Array(64))).toBe(false);
    expect(pool.stats()).toMatchObject({ idle: 0, idleBytes: 0, out: 0 });
  });

  it('ignores a detached buffer (transferred to another thread) and forgets it', () => {
    const pool = new BufferPool();
    const a = pool.acquire(100);
    const view = a.subarray(0, 100);
    structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
    expect(a.byteLength).toBe(0);
    expect(pool.release(view)).toBe(false);
    expect(pool.release(a)).toBe(false);
    expect(pool.stats()).toMatchObject({ idle: 0, out: 0 });
    expect(pool.acquire(100).byteLength).toBe(sizeClass(100) * 4);
  });

  it('keeps at most maxBuffers idle, dropping the least recently released', () => {
    const pool = new BufferPool({ maxBuffers: 2 });
    const [a, b, c] = [pool.acquire(16), pool.acquire(16), pool.acquire(16)];
    for (const x of [a, b, c]) expect(pool.release(x)).toBe(true);
    expect(pool.stats()).toMatchObject({ idle: 2, idleBytes: 2 * 64 });
    const taken = new Set([pool.acquire(16), pool.acquire(16), pool.acquire(16)]);
    expect(taken.has(c) && taken.has(b) && !taken.has(a)).toBe(true);
  });

  it('keeps at most maxBytes idle, and never a buffer larger than that', () => {
    const pool = new BufferPool({ maxBytes: 4096 * 4 });
    const big = pool.acquire(5000);
    expect(pool.release(big)).toBe(true);
    expect(pool.stats()).toMatchObject({ idle: 0, idleBytes: 0 });
    const [a, b] = [pool.acquire(3000), pool.acquire(1024)];
    pool.release(a);
    pool.release(b);
    // 3072 + 1024 elements fit exactly; one more of 1024 pushes the oldest (a) out.
    expect(pool.stats()).toMatchObject({ idle: 2, idleBytes: 4096 * 4 });
    const c = pool.acquire(1024);
    expect(c).toBe(b);
    const d = pool.acquire(1024);
    pool.release(c);
    pool.release(d);
    expect(pool.stats()).toMatchObject({ idle: 2, idleBytes: 2048 * 4 });
    expect(pool.acquire(3000)).not.toBe(a);
  });

  it('keeps nothing with zero bounds, and refuses negative ones', () => {
    const pool = new BufferPool({ maxBuffers: 0 });
    const a = pool.acquire(16);
    expect(pool.release(a)).toBe(true);
    expect(pool.acquire(16)).not.toBe(a);
    expect(() => new BufferPool({ maxBytes: -1 })).toThrow(RangeError);
    expect(() => new BufferPool({ maxBuffers: 1.5 })).toThrow(RangeError);
  });
});
