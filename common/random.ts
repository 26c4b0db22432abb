/**
 * Deterministic pseudo-random numbers for synthetic weights. Every tensor gets its own stream, keyed
 * by a hash of (seed, tensor name), so the values of one tensor do not depend on which tensors were
 * generated before it or in which chunks.
 *
 * Generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, PractRand-clean to 32 TB),
 * chosen because it needs only 32-bit adds, xors and shifts: fast in JavaScript, ~1 ns per number.
 * Seeding: cyrb128 (bryc, public domain) hashes the key string into the four 32-bit state words.
 */

const TWO_POW_MINUS_32 = 2 ** -32;

/** A seeded sfc32 stream with helpers to fill float32 arrays. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Second value of the last Box-Muller pair, kept so chunked fills equal one big fill. */
  private spare: number | undefined;

  constructor(a: number, b: number, c: number, d: number) {
    this.a = a | 0;
    this.b = b | 0;
    this.c = c | 0;
    this.d = d | 0;
    // sfc32 reference seeding discards the first outputs so nearby seeds diverge.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() * TWO_POW_MINUS_32;
  }

  /** Fills `out` with values uniform in [low, high). Inlined state for speed (VGG16: 138M values). */
  fillUniform(out: Float32Array, low: number, high: number): void {
    let a = this.a, b = this.b, c = this.c, d = this.d;
    const scale = (high - low) * TWO_POW_MINUS_32;
    for (let i = 0; i < out.length; i++) {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      out[i] = low + (t >>> 0) * scale;
    }
    this.a = a; this.b = b; this.c = c; this.d = d;
  }

  /** Fills `out` with normal(mean, std) values (Box-Muller; used only for small tensors). */
  fillNormal(out: Float32Array, mean: number, std: number): void {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.nextStandardNormal();
  }

  private nextStandardNormal(): number {
    if (this.spare !== undefined) {
      const z = this.spare;
      this.spare = undefined;
      return z;
    }
    const u1 = (this.nextUint32() + 1) * TWO_POW_MINUS_32; // (0, 1]: log stays finite
    const u2 = this.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }
}

/** The stream for one tensor: depends only on the seed and the tensor's name. */
export function tensorRng(seed: number, name: string): Rng {
  const [h1, h2, h3, h4] = cyrb128(`dynasplit/${seed}/${name}`);
  return new Rng(h1, h2, h3, h4);
}

/** cyrb128: a 128-bit string hash (https://github.com/bryc/code/blob/master/jshash/PRNGs.md). */
export function cyrb128(str: string): [number, number, number, number] {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** A seeded standard-normal float32 tensor of `shape`: synthetic model input for sensors, profiling and checks. */
export function seededTensor(shape: readonly number[], seed: number, name: string): Float32Array {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  tensorRng(seed, name).fillNormal(data, 0, 1);
  return data;
}
