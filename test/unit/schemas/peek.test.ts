import protobuf from 'protobufjs/minimal.js';
import { describe, expect, it } from 'vitest';
import { peekStringField, TailRequest } from '../../../schemas/index.ts';

/** TailRequest.request_id is field 1 (schemas/pipeline.proto); transport/handling.ts peekRequestId reads it so. */
const peekRequestId = (bytes: Uint8Array): string => peekStringField(bytes, 1);

const request = (id: string): Uint8Array => TailRequest.encode({
  request_id: id, model: 'vgg16', cut: 'features.pool3', tensor: { name: 'x', shape: [1, 1000], codec: 1, data: new Uint8Array(4000).fill(9) },
}).finish();

/** Hand-written fields: a string field `field` holding `bytes`, after a varint field 5. */
const written = (field: number, bytes: Uint8Array, wireType = 2): Uint8Array => {
  const w = protobuf.Writer.create().uint32((5 << 3) | 0).uint32(77).uint32((field << 3) | wireType);
  return (wireType === 2 ? w.bytes(bytes) : w.uint32(3)).finish();
};

describe('peekStringField', () => {
  it('reads a TailRequest\'s request_id as the generated code writes it', () => {
    expect(peekRequestId(request('cam-7/000123'))).toBe('cam-7/000123');
    expect(peekRequestId(request('ünïcødé'))).toBe('ünïcødé');
  });

  it('reads it from a body that does not decode as a whole (cut short inside the tensor)', () => {
    const cut = request('r-42').subarray(0, 2000);
    expect(() => TailRequest.decode(cut)).toThrow();
    expect(peekRequestId(cut)).toBe('r-42');
  });

  it('skips the fields before it, of any wire type', () => {
    expect(peekStringField(written(1, new TextEncoder().encode('after-a-varint')), 1)).toBe('after-a-varint');
    const fixed = protobuf.Writer.create().uint32((2 << 3) | 1).double(1.5).uint32((3 << 3) | 5).float(2).uint32((1 << 3) | 2).string('hi').finish();
    expect(peekStringField(fixed, 1)).toBe('hi');
  });

  it('gives \'\' for what names nothing: absent, garbage, another wire type, too long, past the end, not UTF-8', () => {
    expect(peekRequestId(new Uint8Array(0))).toBe('');
    expect(peekRequestId(new Uint8Array(64).fill(0xff))).toBe('');
    expect(peekStringField(written(2, new TextEncoder().encode('other field')), 1)).toBe('');
    expect(peekStringField(written(1, new Uint8Array(0), 0), 1)).toBe('');
    expect(peekStringField(written(1, new Uint8Array(257).fill(0x61)), 1)).toBe('');
    expect(peekStringField(written(1, new Uint8Array(256).fill(0x61)), 1)).toBe('a'.repeat(256));
    expect(peekStringField(written(1, new TextEncoder().encode('truncated')).subarray(0, 8), 1)).toBe('');
    expect(peekStringField(written(1, Uint8Array.of(0xc3, 0x28)), 1)).toBe('');
  });
});
