import { describe, expect, it } from 'vitest';
import { decodeFp16, encodeFp16, floatToHalf, halfToFloat } from '../../../codec/index.ts';
import { randomBits, seededRandom } from '../../helpers/random.ts';

/** binary16 value of a bit pattern, straight from IEEE 754-2019 §3.4 (no tables). */
function referenceHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Positive finite halves in increasing order, plus 65536 where rounding overflows to Infinity. */
const POSITIVE = Array.from({ length: 0x7c01 }, (_, h) => (h === 0x7c00 ? 65536 : referenceHalf(h)));

/** Correctly rounded float -> half by search: nearest, ties to the even pattern. */
function referenceFloatToHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65536) return sign | 0x7c00;
  let lo = 0;
  let hi = 0x7c00;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (POSITIVE[mid] <= a) lo = mid;
    else hi = mid;
  }
  const below = a - POSITIVE[lo];
  const above = POSITIVE[hi] - a;
  const h = below < above ? lo : above < below ? hi : lo % 2 === 0 ? lo : hi;
  return sign | h;
}

function bitsToFloat(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0];
}

describe('fp16', () => {
  it('decodes every one of the 65536 half patterns exactly', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const expected = referenceHalf(h);
      const got = halfToFloat(h);
      if (Number.isNaN(expected) ? !Number.isNaN(got) : !Object.is(got, expected)) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('round-trips every non-NaN half pattern bit-exactly', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (!isNaN && floatToHalf(halfToFloat(h)) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds midpoints between neighbouring halves to the even pattern', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x7bff; h++) {
      const mid = (POSITIVE[h] + POSITIVE[h + 1]) / 2; // 12 significant bits: exact in float32
      const even = h % 2 === 0 ? h : h + 1;
      if (floatToHalf(mid) !== even || floatToHalf(-mid) !== (even | 0x8000)) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds random float32 bit patterns exactly like a reference search', () => {
    const bits = randomBits(seededRandom(16), 200_000);
    const wrong: number[] = [];
    for (const b of bits) {
      const x = bitsToFloat(b);
      const got = floatToHalf(x);
      const ok = Number.isNaN(x) ? (got & 0x7fff) === 0x7e00 : got === referenceFloatToHalf(x);
      if (!ok) wrong.push(b);
    }
    expect(wrong).toEqual([]);
  });

  it('handles the special values', () => {
    expect(floatToHalf(0)).toBe(0);
    expect(floatToHalf(-0)).toBe(0x8000);
    expect(floatToHalf(Infinity)).toBe(0x7c00);
    expect(floatToHalf(-Infinity)).toBe(0xfc00);
    expect(floatToHalf(NaN) & 0x7e00).toBe(0x7e00);
    expect(halfToFloat(floatToHalf(NaN))).toBeNaN();
    expect(floatToHalf(65504)).toBe(0x7bff); // largest finite half
    expect(floatToHalf(65519.99)).toBe(0x7bff);
    expect(floatToHalf(65520)).toBe(0x7c00); // the midpoint to 2^16 ties to even: Infinity
    expect(floatToHalf(1e10)).toBe(0x7c00);
    expect(floatToHalf(2 ** -14)).toBe(0x0400); // smallest normal
    expect(floatToHalf(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(floatToHalf(2 ** -25)).toBe(0); // tie between 0 and 2^-24: even is 0
    expect(floatToHalf(Math.fround(2 ** -25 * (1 + 2 ** -23)))).toBe(1);
    expect(floatToHalf(2 ** -26)).toBe(0);
    expect(floatToHalf(1e-45)).toBe(0); // float32 subnormal
    expect(floatToHalf(-2)).toBe(0xc000);
    expect(halfToFloat(0x3555)).toBeCloseTo(1 / 3, 3);
  });

  it('keeps the relative error within 2^-11 over the normal range', () => {
    const random = seededRandom(11);
    const src = new Float32Array(100_000);
    for (let i = 0; i < src.length; i++) {
      const magnitude = 2 ** (-14 + random() * 29.99); // [2^-14, 65504)
      src[i] = random() < 0.5 ? -magnitude : magnitude;
    }
    const back = decodeFp16(encodeFp16(src));
    let worst = 0;
    for (let i = 0; i < src.length; i++) worst = Math.max(worst, Math.abs(back[i] - src[i]) / Math.abs(src[i]));
    expect(worst).toBeLessThanOrEqual(2 ** -11);
    expect(worst).toBeGreaterThan(2 ** -12); // the bound is tight, not vacuous
  });

  it('array conversions agree with the scalar ones, NaN and Infinity included', () => {
    const bits = randomBits(seededRandom(5), 50_000);
    const src = new Float32Array(bits.buffer);
    const halves = encodeFp16(src);
    const floats = decodeFp16(halves);
    const wrong: number[] = [];
    for (let i = 0; i < src.length; i++) {
      if (halves[i] !== floatToHalf(src[i])) wrong.push(i);
      if (!Object.is(floats[i], halfToFloat(halves[i]))) wrong.push(i);
    }
    expect(wrong).toEqual([]);
  });

  it('writes into a given output and rejects a wrong-sized one', () => {
    const src = new Float32Array([1, 2, 3]);
    const out = new Uint16Array(3);
    expect(encodeFp16(src, out)).toBe(out);
    expect(() => encodeFp16(src, new Uint16Array(2))).toThrow(RangeError);
    expect(() => decodeFp16(out, new Float32Array(4))).toThrow(RangeError);
  });
});
