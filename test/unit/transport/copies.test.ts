/**
 * The copies docs/performance.md counts on the receiving side: protobufjs hands `bytes` fields out as
 * views of the received message (none), decodeTensor views an aligned fp32 payload (none) and copies
 * an unaligned one (one), and encodeMessage's messages arrive aligned (none). A library update that
 * started copying would change the count.
 */
import { describe, expect, it } from 'vitest';
import { decodeTensor, encodeTensor } from '../../../codec/index.ts';
import { encodeMessage, Frame, TailReply, TailRequest } from '../../../schemas/index.ts';
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

  for (const id of ['r', 'r-1', 'r-12', 'r-123']) {
    it(`encodeMessage puts fp32 data where a receiver views it without a copy (request id '${id}')`, () => {
      // NATS and MQTT hand a message that spans socket reads over at the start of a buffer of its own.
      const request = decodeRequest(received(encodeMessage(TailRequest, { request_id: id, cut: 'features.pool3', tensor, more_tensors: [tensor] }), 0, 'uint8array'));
      const frame = Frame.decode(received(encodeMessage(Frame, { request_id: id, sensor_id: 's-1', tensor }), 0, 'buffer'));
      for (const message of [request.tensor!, request.more_tensors[0]!, frame.tensor!]) {
        const decoded = decodeTensor(message);
        expect(decoded.data).toEqual(data);
        expect(decoded.data.buffer).toBe(message.data!.buffer);
      }
    });
  }

  it("a TailReply's output bytes are a view of the received message", () => {
    const wire = TailReply.encode({ request_id: 'r-1', output: tensor }).finish();
    const bytes = received(wire, 0, 'uint8array');
    expect(decodeReply(bytes).output!.data!.buffer).toBe(bytes.buffer);
  });
});
