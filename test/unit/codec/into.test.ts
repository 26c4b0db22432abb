/**
 * Decoding into a caller's array (or a pool's) and encoding into a caller's bytes give bit for bit
 * what the allocating calls give, for every codec, both kernel sets, odd lengths, unaligned
 * payloads; and every error is the one the allocating call throws, before the output is touched.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  BufferPool,
  CODEC_NAMES,
  decodeTensor,
  decodeTensorBytes,
  encodeBufferBytes,
  encodeTensor,
  encodeTensorBytes,
  useCodecKernels,
  type CodecName,
  type FloatTensor,
} from '../../../codec/index.ts';
import { ErrorCodes } from '../../../common/index.ts';
import type { Codec, TensorProperties } from '../../../schemas/index.ts';
import { normalArray, seededRandom } from '../../helpers/random.ts';
import { caught } from '../../helpers/caught.ts';

afterEach(() => useCodecKernels('simd'));

/** Odd lengths; above 128 elements the SIMD kernels run, above 16 Ki in several chunks. */
const SHAPES: number[][] = [[1, 3, 5, 7], [2, 3, 37, 41], [1, 5, 70, 71], [3, 1], [1, 197, 7]];
const KERNELS = ['js', 'simd'] as const;

function fits(codec: CodecName, shape: number[]): boolean {
  return codec !== 'int8-channel' || shape.length >= 2;
}

function tensor(shape: number[], seed: number, name = 'feat'): FloatTensor {
  const data = normalArray(seededRandom(seed), shape.reduce((a, b) => a * b, 1), 3);
  return { name, shape, data };
}

/** fp32 and fp16 carry specials too: NaN, ±Infinity, ±0, subnormals of both. */
function withSpecials(t: FloatTensor): FloatTensor {
  const specials = [NaN, Infinity, -Infinity, -0, 1e-40, -3e-8, 65520, 1e-7];
  const data = t.data.slice();
  specials.forEach((x, i) => { if (i < data.length) data[i * 3 % data.length] = x; });
  return { ...t, data };
}

/** The message with its payload moved to byte `offset` of a buffer of its own. */
function shifted(msg: TensorProperties, offset: number): TensorProperties {
  const data = msg.data!;
  const buffer = new Uint8Array(data.byteLength + offset + 4);
  buffer.set(data, offset);
  return { ...msg, data: buffer.subarray(offset, offset + data.byteLength) };
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** Index of the first element where a and b differ (or the shorter length), -1 when equal: toEqual on large typed arrays takes seconds. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe('decodeTensor into a given array or a pool', () => {
  for (const kind of KERNELS) {
    it(`equals the allocating decode of aligned bytes, bit for bit, at every offset (${kind} kernels)`, () => {
      useCodecKernels(kind);
      let seed = 1;
      for (const codec of CODEC_NAMES) {
        for (const shape of SHAPES.filter((s) => fits(codec, s))) {
          const t = codec === 'fp32' || codec === 'fp16' ? withSpecials(tensor(shape, seed++)) : tensor(shape, seed++);
          // The reference: the allocating decode of the payload at a 4-byte boundary (a view for fp32 and fp16).
          const expected = bits(decodeTensor(shifted(encodeTensor(t, codec), 0)).data);
          const count = expected.length;
          for (const offset of [0, 1, 2, 3]) {
            const msg = shifted(encodeTensor(t, codec), offset);
            const exact = new Float32Array(count).fill(7);
            const longer = new Float32Array(count + 5).fill(7);
            const pool = new BufferPool();
            for (const into of [undefined, exact, longer, pool]) {
              const got = decodeTensor(msg, { into }).data;
              expect(got.length, `${codec} [${shape}] +${offset}`).toBe(count);
              expect(firstDifference(bits(got), expected), `${codec} [${shape}] +${offset}`).toBe(-1);
            }
            const viewsMessage = codec === 'fp32' && offset % 4 === 0;
            // A view of the given array (or of the message, for aligned fp32), never a copy elsewhere.
            expect(decodeTensor(msg, { into: longer }).data.buffer).toBe(viewsMessage ? msg.data!.buffer : longer.buffer);
            expect(longer[count]).toBe(7); // nothing written past the tensor
            expect(pool.stats().out).toBe(viewsMessage ? 0 : 1);
          }
        }
      }
    });
  }

  it('decodes unaligned fp16 into a pooled array of more than one SIMD chunk', () => {
    const t = withSpecials(tensor([1, 5, 70, 71], 99));
    const msg = shifted(encodeTensor(t, 'fp16'), 1);
    const pool = new BufferPool();
    const got = decodeTensor(msg, { into: pool.acquire(t.data.length) });
    expect(firstDifference(bits(got.data), bits(decodeTensor(shifted(msg, 0)).data))).toBe(-1);
  });

  it('goes through decodeTensorBytes too', () => {
    const t = tensor([2, 3, 37, 41], 5);
    const pool = new BufferPool();
    for (const codec of CODEC_NAMES) {
      const bytes = encodeTensorBytes(t, codec);
      const got = decodeTensorBytes(bytes, { into: pool });
      expect(firstDifference(bits(got.data), bits(decodeTensorBytes(bytes).data))).toBe(-1);
      pool.release(got.data);
    }
    // fp32 was a view of the bytes; the five others came from the pool, one buffer reused.
    expect(pool.stats()).toMatchObject({ misses: 1, hits: 4, out: 0, idle: 1 });
  });

  it('throws the same coded errors as the allocating decode, before touching the output', () => {
    const good = encodeTensor(tensor([2, 3, 4, 4], 3), 'uint8');
    const broken: TensorProperties[] = [
      { ...good, codec: 0 },
      { ...good, codec: 42 as Codec },
      { ...good, shape: [2, 3, 4, 5] },
      { ...good, shape: [2, -3, 4, 4] },
      { ...good, data: good.data.subarray(1) },
      { ...good, scales: [] },
      { ...good, scales: [NaN] },
      { ...good, zero_points: [256] },
      { ...good, axis: 1 },
      { ...encodeTensor(tensor([2, 3, 4, 4], 3), 'int8-channel'), scales: [1, 2] },
      { ...encodeTensor(tensor([2, 3, 4, 4], 3), 'fp16'), data: new Uint8Array(3) },
    ];
    for (const msg of broken) {
      const expected = caught(() => decodeTensor(msg)) as Error & { code: string; details: unknown };
      expect(expected.code).toBe(ErrorCodes.BAD_TENSOR);
      const into = new Float32Array(96).fill(7);
      const pool = new BufferPool();
      for (const target of [into, pool]) {
        const err = caught(() => decodeTensor(msg, { into: target })) as typeof expected;
        expect(err).toMatchObject({ code: expected.code, message: expected.message, details: expected.details });
      }
      expect(into.every((x) => x === 7)).toBe(true);
      expect(pool.stats()).toMatchObject({ out: 0, misses: 0 });
    }
    expect(caught(() => decodeTensorBytes(new Uint8Array([0x07]), { into: new Float32Array(4) }))).toMatchObject({ code: ErrorCodes.BAD_TENSOR });
  });

  it('refuses an array shorter than the tensor (a programming error)', () => {
    const msg = encodeTensor(tensor([2, 3, 4, 4], 3), 'int8');
    expect(() => decodeTensor(msg, { into: new Float32Array(95) })).toThrow(RangeError);
  });
});

describe('encodeTensorBytes into given bytes', () => {
  for (const kind of KERNELS) {
    it(`writes the same bytes as the allocating encode, payload aligned (${kind} kernels)`, () => {
      useCodecKernels(kind);
      let seed = 50;
      for (const codec of CODEC_NAMES) {
        for (const shape of SHAPES.filter((s) => fits(codec, s))) {
          const t = codec === 'fp32' || codec === 'fp16' ? withSpecials(tensor(shape, seed++)) : tensor(shape, seed++);
          const expected = encodeTensorBytes(t, codec);
          const need = encodeBufferBytes(t, codec);
          expect(need).toBeGreaterThanOrEqual(expected.length + 3);
          const backing = new Uint8Array(need + 8);
          for (const offset of [0, 1, 2, 3]) {
            const into = backing.subarray(offset, offset + need);
            const got = encodeTensorBytes(t, codec, { into });
            expect(got.buffer).toBe(backing.buffer);
            expect(got.byteOffset - into.byteOffset).toBeLessThanOrEqual(3);
            expect(firstDifference(got, expected), `${codec} [${shape}] +${offset}`).toBe(-1);
            const payload = decodeTensorBytes(got);
            expect(firstDifference(bits(payload.data), bits(decodeTensorBytes(expected).data))).toBe(-1);
            if (codec === 'fp32') expect(payload.data.buffer).toBe(backing.buffer); // aligned: a view
          }
        }
      }
    });
  }

  it('bounds the message for long names, high ranks and every codec', () => {
    const shape = [1, 2, 1, 3, 1, 2, 1, 129];
    const t = tensor(shape, 7, 'ü€𝄞'.repeat(40));
    for (const codec of CODEC_NAMES) {
      expect(encodeBufferBytes(t, codec)).toBeGreaterThanOrEqual(encodeTensorBytes(t, codec).length + 3);
    }
  });

  it('throws the allocating encode\'s errors before writing, and RangeError when the bytes are too few', () => {
    const t = tensor([1, 197, 7], 8);
    t.data[5] = Infinity;
    const into = new Uint8Array(4096).fill(7);
    for (const codec of ['int8', 'uint8', 'int8-token', 'int4'] as CodecName[]) {
      const expected = caught(() => encodeTensorBytes(t, codec)) as Error & { code: string };
      expect(caught(() => encodeTensorBytes(t, codec, { into }))).toMatchObject({ code: expected.code, message: expected.message });
    }
    expect(into.every((x) => x === 7)).toBe(true);
    const ok = tensor([1, 197, 7], 8);
    expect(() => encodeTensorBytes(ok, 'fp32', { into: new Uint8Array(encodeTensorBytes(ok, 'fp32').length - 1) })).toThrow(RangeError);
  });
});
