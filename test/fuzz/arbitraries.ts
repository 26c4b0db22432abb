/**
 * fast-check arbitraries shared by the decoder properties: random bytes, protobuf-shaped bytes,
 * byte-level mutations of valid encodings, awkward numbers and strings, float tensors per codec and
 * tensor messages (valid, perturbed and arbitrary). Decoder-specific arbitraries live beside their
 * properties (frames, policies, CSV) or in graph-arbitraries.ts (ONNX graphs).
 */
import fc from 'fast-check';
import { CODEC_NAMES, encodeTensor, type CodecName, type FloatTensor } from '../../codec/index.ts';
import type { TensorProperties } from '../../schemas/index.ts';

// ---------------------------------------------------------------------------------------------
// Bytes

/** Uniformly random bytes, mostly short. */
export const randomBytes = fc.uint8Array({ maxLength: 256 });

/** A protobuf varint (protobuf encoding guide, "Base 128 Varints"), for values up to 2^53. */
export function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

interface WireField { field: number; wire: number; varintValue: number; fixed: Uint8Array; nested: WireField[] | Uint8Array }

/** Tag, wire type and payload of one field: varints of every size, all wire types, nested messages. */
const wireField: fc.Arbitrary<WireField> = fc.letrec<{ field: WireField; fields: WireField[] }>((tie) => ({
  field: fc.record({
    field: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 22 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 29 }) }),
    wire: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(0, 1, 2, 5) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) }),
    varintValue: fc.oneof(fc.nat(300), fc.constantFrom(0, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1), fc.maxSafeNat()),
    fixed: fc.uint8Array({ minLength: 8, maxLength: 8 }),
    nested: fc.oneof({ maxDepth: 2, depthIdentifier: 'wire' }, fc.uint8Array({ maxLength: 40 }), tie('fields')),
  }),
  fields: fc.array(tie('field') as fc.Arbitrary<WireField>, { maxLength: 6, depthIdentifier: 'wire' }),
})).field;

function encodeFields(fields: WireField[]): number[] {
  const out: number[] = [];
  for (const f of fields) {
    out.push(...varint(f.field * 8 + f.wire));
    if (f.wire === 0) out.push(...varint(f.varintValue));
    else if (f.wire === 1) out.push(...f.fixed);
    else if (f.wire === 5) out.push(...f.fixed.subarray(0, 4));
    else if (f.wire === 2) {
      const body = f.nested instanceof Uint8Array ? Array.from(f.nested) : encodeFields(f.nested);
      out.push(...varint(body.length), ...body);
    }
    // Wire types 3 and 4 (groups) and 6, 7 (invalid) carry no payload of their own.
  }
  return out;
}

/** Bytes shaped like protobuf: valid tags and lengths most of the time, so parsers get past byte 1. */
export const protobufBytes = fc.array(wireField, { maxLength: 8 }).map((fields) => Uint8Array.from(encodeFields(fields)));

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate'; at: number; length: number };

const position = fc.nat(2 ** 24);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('set' as const), at: position, value: fc.oneof(fc.constantFrom(0, 0x7f, 0x80, 0xff), fc.nat(255)) }),
  fc.record({ kind: fc.constant('insert' as const), at: position, bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.constant(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]))) }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 32 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({ kind: fc.constant('duplicate' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
);

/** `bytes` with the mutations applied in order (positions taken modulo the current length). */
export function applyMutations(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out: Uint8Array = Uint8Array.from(bytes);
  for (const m of mutations) {
    const n = out.length;
    const at = n === 0 ? 0 : m.at % n;
    switch (m.kind) {
      case 'flip':
        if (n > 0) out[at] ^= 1 << m.bit;
        break;
      case 'set':
        if (n > 0) out[at] = m.value;
        break;
      case 'insert':
        out = concat(out.subarray(0, at), m.bytes, out.subarray(at));
        break;
      case 'delete':
        out = concat(out.subarray(0, at), out.subarray(Math.min(n, at + m.length)));
        break;
      case 'truncate':
        out = out.slice(0, at);
        break;
      case 'duplicate':
        out = concat(out.subarray(0, at + Math.min(m.length, n - at)), out.subarray(at));
        break;
    }
  }
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Valid encodings from `valid`, each with 1 to 6 byte-level mutations. */
export function mutatedBytes(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 6 })).map(([bytes, ms]) => applyMutations(bytes, ms));
}

/**
 * Pathological protobuf: up to 10^5 nested start-group tags (wire type 3), which parsers skip by
 * recursion, or a length prefix far past the end of the buffer.
 */
export const pathologicalBytes = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 22 }), fc.integer({ min: 1, max: 100_000 })).map(([field, depth]) => new Uint8Array(depth).fill(field * 8 + 3)),
  fc.tuple(fc.integer({ min: 1, max: 22 }), fc.constantFrom(2 ** 28, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 35)).map(([field, length]) => Uint8Array.from([field * 8 + 2, ...varint(length), 1, 2, 3])),
);

/** Random, protobuf-shaped, pathological and mutated valid bytes, in one stream. */
export function hostileBytes(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof({ weight: 3, arbitrary: randomBytes }, { weight: 3, arbitrary: protobufBytes }, { weight: 1, arbitrary: pathologicalBytes }, { weight: 4, arbitrary: mutatedBytes(valid) });
}

// ---------------------------------------------------------------------------------------------
// Numbers and strings

/** Doubles a message field can hold, biased to the values validation must catch. */
export const awkwardNumber = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 0.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 32, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.double(),
  fc.integer({ min: -1000, max: 1000 }),
);

/** Any string: control characters, lone surrogates, astral code points. */
export const anyString = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'binary-ascii', maxLength: 12 }));

/** float32 values: every class (NaN, ±Infinity, ±0, subnormals) and the ranges activations use. */
export const float32 = fc.oneof(
  fc.float(),
  fc.float({ min: -8, max: 8, noNaN: true }),
  fc.float({ min: Math.fround(-1e-37), max: Math.fround(1e-37), noNaN: true }),
);
export const finiteFloat32 = fc.oneof(
  fc.float({ noNaN: true, noDefaultInfinity: true }),
  fc.float({ min: -8, max: 8, noNaN: true }),
  fc.float({ min: Math.fround(-1e-37), max: Math.fround(1e-37), noNaN: true }),
);

// ---------------------------------------------------------------------------------------------
// Tensors

export const codecName = fc.constantFrom(...CODEC_NAMES);

/** Least rank each codec accepts (docs/codecs.md). */
export const MIN_RANK: Readonly<Record<CodecName, number>> = { fp32: 0, fp16: 0, int8: 0, uint8: 0, 'int8-channel': 2, 'int8-token': 1 };

/** Shapes a codec accepts: rank MIN_RANK..4, dimensions 0..6 (zero-sized tensors included). */
export function tensorShape(codec: CodecName): fc.Arbitrary<number[]> {
  const dim = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 6 }) }, { weight: 1, arbitrary: fc.constant(0) });
  return fc.array(dim, { minLength: MIN_RANK[codec], maxLength: 4 });
}

export function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A float32 tensor of a shape `codec` accepts, with values from `values`. */
export function floatTensor(codec: CodecName, values: fc.Arbitrary<number> = float32): fc.Arbitrary<FloatTensor> {
  return fc.tuple(tensorShape(codec), anyString).chain(([shape, name]) => {
    const n = elements(shape);
    return fc.array(values, { minLength: n, maxLength: n }).map((v) => ({ name, shape, data: Float32Array.from(v) }));
  });
}

/** Valid wire messages: a finite tensor encoded in a random codec. */
export const validTensorMessage: fc.Arbitrary<TensorProperties> = codecName.chain((codec) =>
  floatTensor(codec, finiteFloat32).map((t) => encodeTensor(t, codec) as TensorProperties));

type Perturbation = (m: TensorProperties) => TensorProperties;

const perturbation: fc.Arbitrary<Perturbation> = fc.oneof(
  fc.integer({ min: -3, max: 12 }).map((codec): Perturbation => (m) => ({ ...m, codec })),
  fc.tuple(fc.nat(5), awkwardNumber).map(([i, d]): Perturbation => (m) => ({ ...m, shape: withAt(m.shape ?? [], i, d) })),
  fc.nat(6).map((d): Perturbation => (m) => ({ ...m, shape: [...(m.shape ?? []), d] })),
  fc.constant<Perturbation>((m) => ({ ...m, shape: (m.shape ?? []).slice(0, -1) })),
  fc.integer({ min: -5, max: 5 }).map((k): Perturbation => (m) => ({ ...m, data: resize(m.data ?? new Uint8Array(0), k) })),
  fc.tuple(fc.nat(5), awkwardNumber).map(([i, s]): Perturbation => (m) => ({ ...m, scales: withAt(m.scales ?? [], i, s) })),
  fc.constant<Perturbation>((m) => ({ ...m, scales: (m.scales ?? []).slice(1) })),
  fc.tuple(fc.nat(2), awkwardNumber).map(([i, z]): Perturbation => (m) => ({ ...m, zero_points: withAt(m.zero_points ?? [], i, z) })),
  fc.oneof(fc.integer({ min: -3, max: 6 }), awkwardNumber).map((axis): Perturbation => (m) => ({ ...m, axis })),
  fc.constant<Perturbation>((m) => ({ ...m, axis: undefined, scales: undefined, zero_points: undefined, shape: undefined, data: undefined })),
);

function withAt(values: readonly number[], i: number, value: number): number[] {
  const out = values.slice();
  out[Math.min(i, out.length)] = value;
  return out;
}

function resize(data: Uint8Array, delta: number): Uint8Array {
  if (delta <= 0) return data.subarray(0, Math.max(0, data.length + delta));
  const out = new Uint8Array(data.length + delta);
  out.set(data);
  return out;
}

/** Valid messages with one to three fields made wrong. */
export const perturbedTensorMessage: fc.Arbitrary<TensorProperties> = fc
  .tuple(validTensorMessage, fc.array(perturbation, { minLength: 1, maxLength: 3 }))
  .map(([m, ps]) => ps.reduce((acc, p) => p(acc), m));

/** Messages with every field drawn freely (sizes kept small so that data lengths sometimes match). */
export const arbitraryTensorMessage: fc.Arbitrary<TensorProperties> = fc.record(
  {
    name: anyString,
    shape: fc.oneof(fc.array(fc.nat(4), { maxLength: 4 }), fc.array(awkwardNumber, { maxLength: 4 })),
    codec: fc.oneof(fc.integer({ min: 0, max: 7 }), fc.integer()),
    data: fc.uint8Array({ maxLength: 300 }),
    scales: fc.array(fc.oneof(fc.float(), awkwardNumber), { maxLength: 5 }),
    zero_points: fc.array(fc.oneof(fc.integer({ min: -2, max: 258 }), awkwardNumber), { maxLength: 3 }),
    axis: fc.oneof(fc.integer({ min: -2, max: 5 }), awkwardNumber),
  },
  { requiredKeys: [] },
);

/** All three kinds of tensor message. */
export const anyTensorMessage = fc.oneof(validTensorMessage, perturbedTensorMessage, arbitraryTensorMessage);
