/**
 * What verify counts as agreement (model/reference.ts answerKind): the top-1 class of float scores,
 * every value of an integer output (a class index: its argmax is always 0), nothing for one float.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyModel } from '../../../model/index.ts';
import { DataType, writeModelFile } from '../../../model/onnx/index.ts';
import { floatInit, floatValue, model, node } from '../../helpers/onnx.ts';

const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-verify-answers-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * x [1, 8] with a 1000 beside it (t, the cut), the 1000 masked off, then the class index: at t an
 * 8-bit codec's step is ~8, so every x decodes to 0 and the index becomes 0, while fp32 keeps it.
 */
function indexModel(path: string, output: 'index' | 'scores' | 'one'): void {
  const tail = output === 'index'
    ? [node('ArgMax', ['s'], ['cls'], [{ name: 'axis', type: 2, i: 1 }, { name: 'keepdims', type: 2, i: 0 }])]
    : output === 'one' ? [node('ReduceMax', ['s'], ['cls'], [{ name: 'keepdims', type: 2, i: 1 }])] : [node('Identity', ['s'], ['cls'])];
  const out = output === 'index' ? { name: 'cls', type: { tensor_type: { elem_type: DataType.INT64, shape: { dim: [{ dim_value: 1 }] } } } }
    : floatValue('cls', output === 'one' ? [1, 1] : [1, 9]);
  writeModelFile(path, model([
    node('Concat', ['x', 'big'], ['t'], [{ name: 'axis', type: 2, i: 1 }]),
    node('Mul', ['t', 'mask'], ['s']),
    ...tail,
  ], {
    inputs: [floatValue('x', [1, 8])],
    outputs: [out],
    initializers: [floatInit('big', [1, 1], [1000]), floatInit('mask', [1, 9], [1, 1, 1, 1, 1, 1, 1, 1, 0])],
  }));
}

describe('verify judges agreement by what the output is', () => {
  it('an int64 class index: compared as values, so an 8-bit codec that changes the class is seen (argmax of one index is always 0)', async () => {
    const path = join(scratch, 'index.onnx');
    indexModel(path, 'index');
    const report = await verifyModel(path, { inputs: 16, codecs: ['fp32', 'int8'] });
    const atT = report.cuts.find((c) => c.cut === 't')!;
    const by = Object.fromEntries(atT.codecs.map((c) => [c.codec, c.top1Agreement]));
    expect(by.fp32).toBe(1);
    expect(by.int8).toBeLessThan(0.5);
    // How far the outputs moved: the share of index values that changed (here 1: one value, changed), not a difference of indices.
    const moved = Object.fromEntries(atT.codecs.map((c) => [c.codec, c.outputRelErr]));
    expect(moved).toEqual({ fp32: 0, int8: 1 });
    // The same model answering with its nine scores agrees as little under int8, by top-1.
    const scores = join(scratch, 'scores.onnx');
    indexModel(scores, 'scores');
    const again = (await verifyModel(scores, { inputs: 16, codecs: ['int8'] })).cuts.find((c) => c.cut === 't')!.codecs[0];
    expect(again.top1Agreement).toBe(by.int8);
  });

  it('one float: no class to agree on, so not judged (null; "n/a" in the table)', async () => {
    const path = join(scratch, 'one.onnx');
    indexModel(path, 'one');
    const report = await verifyModel(path, { inputs: 4, codecs: ['fp32', 'int8'] });
    for (const codec of report.cuts.find((c) => c.cut === 't')!.codecs) expect(codec.top1Agreement).toBeNull();
  });
});
