import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeMessage, dynasplit, Frame, Result, TailReply, TailRequest } from '../../../schemas/index.ts';
import { TENSOR_FIELDS } from '../../../schemas/encode.ts';

const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
/** The bytes as a receiver gets a large message: at the start of a buffer of their own. */
const received = (wire: Uint8Array): Uint8Array => Uint8Array.from(wire);

interface Codec<T> { encode(m: T): { finish(): Uint8Array }; decode(b: Uint8Array): T; toObject(m: T, o: object): object }

/** The message as plain JSON-able fields, without the padding a sender may add. */
function fieldsOf<T>(type: Codec<T>, wire: Uint8Array): unknown {
  return JSON.parse(JSON.stringify(type.toObject(type.decode(wire), { bytes: String, defaults: false }), (key, value: unknown) => (key === 'padding' ? undefined : value)));
}

/** Every tensor in a decoded message, by its path. */
function tensorsOf(message: object, fields: Record<string, number>): Array<{ path: string; data?: Uint8Array | null }> {
  return Object.keys(fields).flatMap((name) => {
    const value = (message as Record<string, unknown>)[name];
    const list = (Array.isArray(value) ? value : value ? [value] : []) as Array<{ data?: Uint8Array | null }>;
    return list.map((t, i) => ({ path: `${name}[${i}]`, data: t.data }));
  });
}

/** The message encodes to what the generated code's bytes decode to, with every tensor's data 4-byte aligned. */
function expectAlignedAndSame<T extends object>(type: Codec<T> & { encode(m: T): { finish(): Uint8Array } }, message: T, label: string): void {
  const ours = received(encodeMessage(type as never, message));
  expect(fieldsOf(type, ours), label).toEqual(fieldsOf(type, type.encode(message).finish()));
  const fields = TENSOR_FIELDS.get(type)!;
  const image = (message as { image?: { data: Uint8Array } }).image?.data.length ?? 0;
  // Below 4 KB of payload the message is the generated code's, aligned or not.
  if (tensorsOf(message, fields).reduce((sum, t) => sum + (t.data?.length ?? 0), image) < 4096) return;
  for (const { path, data } of tensorsOf(type.decode(ours) as object, fields)) {
    if (data?.length) expect(data.byteOffset % 4, `${label} ${path}`).toBe(0);
  }
}

describe('encodeMessage', () => {
  it('gives the generated code\'s bytes below 4 KB of payload', () => {
    const message = { request_id: 'r-1', model: 'vgg16', tensor: { name: 'x', shape: [1, 100], codec: 1, data: bytes(400) } };
    expect(same(encodeMessage(TailRequest, message), TailRequest.encode(message).finish())).toBe(true);
  });

  it('encodes a TailRequest to the same message with each tensor\'s data on a 4-byte boundary, at every size around the thresholds', () => {
    // 16,375 and 2,097,140 put the tensor's length prefix one byte short of growing; 2 MiB crosses it.
    for (const n of [0, 1, 127, 128, 4095, 4096, 16_371, 16_375, 16_384, 200_000, 819_200, 2_097_140, 2_097_152]) {
      for (let id = 0; id < 4; id++) {
        const message = {
          request_id: 'r'.repeat(id), model: 'vgg16', cut: 'features.pool3', deadline_at_ms: 1234, sent_at_ms: 99,
          tensor: { name: 'x', shape: [1, n], codec: 1, data: bytes(n) },
          more_tensors: [{ name: 'y', shape: [3], codec: 1, data: bytes(12, 7) }, { name: 'z'.repeat(id + 1), data: bytes(n >> 1, 3) }],
          reply_to: 'edge/e1/replies',
        };
        expectAlignedAndSame(TailRequest, message, `${n} bytes, id of ${id}`);
      }
    }
  });

  it('aligns the tensors of Frames, TailReplies and Results, three levels down, and leaves other byte fields as they are', () => {
    const data = bytes(300_000);
    for (let id = 0; id < 4; id++) {
      const name = 'n'.repeat(id);
      expectAlignedAndSame(Result, { request_id: name, sensor_id: 's', outputs: [{ name: 'masks', shape: [1, 75_000], codec: 1, data }, { name, data: bytes(4099) }] }, `Result ${id}`);
      expectAlignedAndSame(Frame, { request_id: name, sensor_id: 's', model: 'm', tensor: { name: 'input', shape: [1, 75_000], codec: 1, data }, inputs: [{ name: 'mask', data: bytes(9001) }] }, `Frame ${id}`);
      expectAlignedAndSame(Frame, { request_id: name, sensor_id: 's', model: 'm', image: { data, format: 'jpeg' } }, `Frame with an image ${id}`);
      expectAlignedAndSame(TailReply, { request_id: name, output: { name: 'logits', data }, more_outputs: [{ name: 'aux', data: bytes(5000) }] }, `TailReply ${id}`);
    }
  });

  it('stays correct when the small fields outgrow the room kept for them', () => {
    const message = { request_id: 'r'.repeat(20_000), model: 'm'.repeat(9_000), tensor: { name: 'n'.repeat(5_000), data: bytes(10_000) } };
    expectAlignedAndSame(TailRequest, message, 'large ids');
  });

  it('returns bytes of their own: a second message does not overwrite the first', () => {
    const first = encodeMessage(TailRequest, { request_id: 'a', tensor: { data: bytes(50_000, 1) } });
    const copy = Uint8Array.from(first);
    encodeMessage(TailRequest, { request_id: 'b', tensor: { data: bytes(50_000, 2) } });
    expect(same(first, copy)).toBe(true);
  });

  it('knows every Tensor field the .proto files declare, by name and number', () => {
    const proto = readFileSync(new URL('../../../schemas/pipeline.proto', import.meta.url), 'utf8');
    const declared: Record<string, Record<string, number>> = {};
    for (const [, message, body] of proto.matchAll(/^message (\w+) \{([\s\S]*?)^\}/gm)) {
      for (const [, name, field] of body!.matchAll(/^\s*(?:repeated\s+)?Tensor\s+(\w+)\s*=\s*(\d+);/gm)) {
        (declared[message!] ??= {})[name!] = Number(field);
      }
    }
    const known = Object.fromEntries(Object.entries(dynasplit.v1).flatMap(([name, type]) => {
      const fields = TENSOR_FIELDS.get(type);
      return fields ? [[name, fields]] : [];
    }));
    expect(known).toEqual(declared);
    expect(Object.keys(declared).length).toBeGreaterThan(3);
  });
});
