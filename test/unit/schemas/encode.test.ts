import { describe, expect, it } from 'vitest';
import { encodeMessage, Frame, Result, TailReply, TailRequest } from '../../../schemas/index.ts';

const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

describe('encodeMessage', () => {
  it('gives the generated code\'s bytes for a TailRequest with tensors of every size around the thresholds', () => {
    for (const n of [0, 1, 127, 128, 4095, 4096, 16_383, 16_384, 200_000, 819_200]) {
      const message = {
        request_id: 'r-1', model: 'vgg16', cut: 'features.pool3', deadline_at_ms: 1234, sent_at_ms: 99,
        tensor: { name: 'x', shape: [1, n], codec: 1, data: bytes(n) },
        more_tensors: [{ name: 'y', shape: [3], codec: 1, data: bytes(12, 7) }, { name: 'z', data: bytes(n >> 1, 3) }],
      };
      const ours = encodeMessage(TailRequest, message);
      expect(same(ours, TailRequest.encode(message).finish()), `${n} bytes`).toBe(true);
      expect(TailRequest.decode(ours).tensor?.data?.length).toBe(n);
    }
  });

  it('finds byte fields three levels down (Result.outputs[i].data) and in Frames and TailReplies', () => {
    const data = bytes(300_000);
    const result = { request_id: 'r', sensor_id: 's', outputs: [{ name: 'masks', shape: [1, 300_000], codec: 1, data }] };
    expect(same(encodeMessage(Result, result), Result.encode(result).finish())).toBe(true);
    const frame = { request_id: 'f', sensor_id: 's', model: 'm', tensor: { name: 'input', shape: [1, 300_000], codec: 1, data } };
    expect(same(encodeMessage(Frame, frame), Frame.encode(frame).finish())).toBe(true);
    const reply = { request_id: 'q', output: { name: 'logits', data }, more_outputs: [{ name: 'aux', data: bytes(5000) }] };
    expect(same(encodeMessage(TailReply, reply), TailReply.encode(reply).finish())).toBe(true);
  });

  it('stays correct when the small fields outgrow the room kept for them', () => {
    const message = { request_id: 'r'.repeat(20_000), model: 'm'.repeat(9_000), tensor: { name: 'n'.repeat(5_000), data: bytes(10_000) } };
    expect(same(encodeMessage(TailRequest, message), TailRequest.encode(message).finish())).toBe(true);
  });

  it('returns bytes of their own: a second message does not overwrite the first', () => {
    const first = encodeMessage(TailRequest, { request_id: 'a', tensor: { data: bytes(50_000, 1) } });
    const copy = Uint8Array.from(first);
    encodeMessage(TailRequest, { request_id: 'b', tensor: { data: bytes(50_000, 2) } });
    expect(same(first, copy)).toBe(true);
  });
});
