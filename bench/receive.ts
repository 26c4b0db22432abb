/**
 * Receiving a message that carries a tensor, as a node does: protobuf decode, then decodeTensor, on
 * bytes at the start of a buffer of their own (where NATS and MQTT hand over a message that spans
 * socket reads). Two layouts of the same message, in the same run: the generated code's, where the
 * fp32 data's offset follows the lengths of the ids before it (request ids of four lengths, so 3 in
 * 4 land off a 4-byte boundary and are copied), and encodeMessage's, which pads the data onto one
 * (schemas/encode.ts). The edge decodes a frame into a fresh array when it must copy, the worker a
 * cut tensor into a pooled one.
 */
import { BufferPool, decodeTensor, encodeTensor, type FloatTensor } from '../codec/index.ts';
import { encodeMessage, Frame, TailRequest } from '../schemas/index.ts';

interface Case { label: string; message: 'Frame' | 'TailRequest'; shape: number[]; pooled: boolean }

const CASES: Case[] = [
  { label: 'Frame, VGG16 input (edge)', message: 'Frame', shape: [1, 3, 224, 224], pooled: false },
  { label: 'TailRequest, VGG16 pool3 (worker)', message: 'TailRequest', shape: [1, 256, 28, 28], pooled: true },
  { label: 'TailRequest, VGG16 pool5 (worker)', message: 'TailRequest', shape: [1, 512, 7, 7], pooled: true },
];
const TYPES = { Frame, TailRequest } as const;

/** Rows of the table: per case, µs of CPU per message received in each layout, and their ratio. */
export function benchReceive(measure: (fn: () => unknown) => number, makeTensor: (shape: number[]) => FloatTensor): string[][] {
  const rows = [['message', 'tensor', 'MB', 'generated layout µs', 'encodeMessage µs', 'before / after']];
  for (const c of CASES) {
    const type = TYPES[c.message];
    const tensor = encodeTensor(makeTensor(c.shape), 'fp32');
    const received = (encode: (m: object) => Uint8Array) => [1, 2, 3, 4].map((n) => Uint8Array.from(encode({
      request_id: 'r'.repeat(n), sensor_id: 'cam-1', model: 'vgg16', cut: 'features.pool3', tensor,
    })));
    const pool = new BufferPool();
    const receiveAll = (messages: Uint8Array[]) => () => {
      for (const bytes of messages) {
        const t = decodeTensor(type.decode(bytes).tensor!, c.pooled ? { into: pool } : {});
        pool.release(t.data);
      }
    };
    const before = measure(receiveAll(received((m) => type.encode(m as never).finish()))) / 4;
    const after = measure(receiveAll(received((m) => encodeMessage(type as never, m)))) / 4;
    rows.push([c.label, `[${c.shape.join(',')}]`, (tensor.data!.byteLength / 1e6).toFixed(2), (before * 1000).toFixed(1), (after * 1000).toFixed(1), (before / after).toFixed(1)]);
  }
  return rows;
}
