/**
 * What lets the cloud worker hand a request's decoded inputs back to its pool once the tail's run
 * has resolved: onnxruntime's outputs never share memory with its inputs, on either inference
 * thread, even for graphs whose output could be the input itself (Identity, Reshape, Flatten, a
 * graph input listed as an output). If an onnxruntime-node upgrade made an output a view of an
 * input, a reply could carry a buffer the next request overwrites; this test would then fail.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeModel, openSession, type InferenceThread } from '../../../model/index.ts';
import { DataType, type ModelProto } from '../../../model/onnx/index.ts';
import { floatValue, model, node } from '../../helpers/onnx.ts';

const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-alias-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const X = floatValue('x', [2, 4]);
const SHAPE_8 = { name: 's', dims: [2], data_type: DataType.INT64, raw_data: new Uint8Array(new BigInt64Array([1n, 8n]).buffer) };
const GRAPHS: Record<string, ModelProto> = {
  identity: model([node('Identity', ['x'], ['y'])], { inputs: [X], outputs: [floatValue('y', [2, 4])] }),
  reshape: model([node('Reshape', ['x', 's'], ['y'])], { inputs: [X], outputs: [floatValue('y', [1, 8])], initializers: [SHAPE_8] }),
  flatten: model([node('Flatten', ['x'], ['y'])], { inputs: [X], outputs: [floatValue('y', [2, 4])] }),
  'input as output': model([node('Relu', ['x'], ['y'])], { inputs: [X], outputs: [floatValue('y', [2, 4]), X] }),
};

describe('onnxruntime outputs and the inputs they were computed from', () => {
  for (const thread of ['main', 'worker'] as InferenceThread[]) {
    for (const [name, graph] of Object.entries(GRAPHS)) {
      it(`share no memory: ${name}, ${thread} thread`, async () => {
        const file = join(scratch, `${name.replace(/ /g, '-')}-${thread}.onnx`);
        writeFileSync(file, encodeModel(graph));
        const session = await openSession(file, { thread, threads: 1 });
        try {
          const input = Float32Array.from({ length: 8 }, (_, i) => i - 3);
          const outputs = await session.run({ x: new ort.Tensor('float32', input, [2, 4]) });
          const before = Object.values(outputs).map((t) => Array.from(t.data as Float32Array));
          input.fill(99); // what the next request's decode does to a pooled buffer
          expect(Object.values(outputs).map((t) => Array.from(t.data as Float32Array))).toEqual(before);
          for (const t of Object.values(outputs)) expect((t.data as Float32Array).buffer).not.toBe(input.buffer);
        } finally {
          await session.release();
        }
      });
    }
  }
});
