/**
 * Seeded pseudo-random numbers for tests, so a failing case reproduces exactly.
 * mulberry32 (Tommy Ettinger, public domain): 32-bit state, full period 2^32, enough for test data.
 */
export type Random = () => number;

/** Uniform numbers in [0, 1) from a 32-bit seed. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal numbers (Box-Muller) from a uniform source. */
export function normal(random: Random): number {
  const u = 1 - random(); // (0, 1]: log(0) would be -Infinity
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** `count` floats drawn from N(mean, std^2). */
export function normalArray(random: Random, count: number, std = 1, mean = 0): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = mean + std * normal(random);
  return out;
}

/** `count` floats uniform in [lo, hi). */
export function uniformArray(random: Random, count: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = lo + (hi - lo) * random();
  return out;
}

/** `count` uniformly random 32-bit patterns: every float32 class (NaN, Inf, subnormals) appears. */
export function randomBits(random: Random, count: number): Uint32Array {
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.floor(random() * 4294967296) >>> 0;
  return out;
}
