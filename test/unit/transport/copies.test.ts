/**
 * The copies docs/performance.md counts on the receiving side: protobufjs hands `bytes` fields out as
 * views of the received message (none), and decodeTensor views an aligned fp32 payload (none) and
 * copies an unaligned one (one). A library update that started copying would change the count.
 */
import { describe, expect, it } from 'vitest';
import { decodeTensor, encodeTensor } from '../../../codec/index.ts';
import { TailReply, TailRequest } from '../../../schemas/index.ts';
import { decodeReply, decodeRequest } from '../../../transport/handling.ts';

const data = Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i));
const tensor = encodeTensor({ name: 'features.pool3', shape: [1, 4096], data }, 'fp32');

/** `bytes` at `offset` of a fresh buffer, as a Node Buffer (MQTT) or a plain Uint8Array (NATS). */
function received(bytes: Uint8Array, offset: number, kind: 'buffer' | 'uint8array'): Uint8Array {
  const copy = new Uint8Array(new ArrayBuffer(offset + bytes.length), offset, bytes.length);
  copy.set(bytes);
  return kind === 'buffer' ? Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength) : copy;
}

describe('copies on the receiving side', () => {
  for (const kind of ['buffer', 'uint8array'] as const) {
    it(`a TailRequest's tensor bytes are a view of the received ${kind}, and fp32 decodes to a view when aligned`, () => {
      const wire = TailRequest.encode({ request_id: 'r-1', model: 'vgg16-tiny', cut: 'features.pool3', tensor }).finish();
      const aligned = [0, 1, 2, 3].map((offset) => {
        const bytes = received(wire, offset, kind);
        const request = decodeRequest(bytes);
        const field = request.tensor!.data!;
        expect(field.buffer).toBe(bytes.buffer);
        const decoded = decodeTensor(request.tensor!);
        expect(decoded.data).toEqual(data);
        return decoded.data.buffer === bytes.buffer;
      });
      // Exactly one of the four offsets puts the payload on a 4-byte boundary: that one is not copied.
      expect(aligned.filter(Boolean)).toHaveLength(1);
    });
  }

  it("a TailReply's output bytes are a view of the received message", () => {
    const wire = TailReply.encode({ request_id: 'r-1', output: tensor }).finish();
    const bytes = received(wire, 0, 'uint8array');
    expect(decodeReply(bytes).output!.data!.buffer).toBe(bytes.buffer);
  });
});
