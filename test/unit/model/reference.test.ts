import { describe, expect, it } from 'vitest';
import { encodeTensor } from '../../../codec/index.ts';
import { answerKind, answerKindOf, answerOf, resultClass } from '../../../model/index.ts';

const raw = (name: string, values: number[]) => encodeTensor({ name, shape: [1, values.length], data: Float32Array.from(values) }, 'fp32');

describe('the answer a Result gives', () => {
  it('is class_index for a classification card, even class 0', () => {
    expect(resultClass({ class_index: 3, top_k: [{ index: 3, score: 0.9 }] }, undefined, 'top1')).toBe(3);
    expect(resultClass({ class_index: 0, top_k: [{ index: 0, score: 0.9 }] }, undefined, 'top1')).toBe(0);
  });

  it('is the argmax of the named output (default the first) for a raw card of scores, whose class_index is unset', () => {
    const result = { outputs: [raw('logits', [0.1, 2, -1]), raw('box', [5, 0, 0, 0])] };
    expect(resultClass(result, undefined, 'top1')).toBe(1);
    expect(resultClass(result, 'box', 'top1')).toBe(0);
    expect(resultClass(result, 'missing', 'top1')).toBeUndefined();
  });

  it('is every value of an integer output (a class index, carried as float32 in a raw result), which argmax would make always 0', () => {
    const index = { outputs: [raw('cls', [7])] };
    expect(resultClass(index, undefined, 'exact')).toBe('7');
    // The unsplit model's int64 output gives the same answer from its bigints.
    expect(answerOf('exact', BigInt64Array.of(7n))).toBe('7');
    expect(answerOf('exact', BigInt64Array.of(3n))).not.toBe(resultClass(index, undefined, 'exact'));
    expect(resultClass({ outputs: [raw('mask', [0, 1, 1, 2])] }, undefined, 'exact')).toBe('0,1,1,2');
  });

  it('is not judged for a single float (a regression, a sigmoid), and undefined for a Result without an answer, never class 0', () => {
    expect(resultClass({ outputs: [raw('y', [0.73])] }, undefined, 'none')).toBeUndefined();
    // Under the default classification card too: its class 0 would never equal the reference's undefined.
    expect(resultClass({ class_index: 0, top_k: [{ index: 0, score: 1 }] }, undefined, 'none')).toBeUndefined();
    expect(resultClass({ error: { code: 'DYNASPLIT_ERR_BAD_INPUT' } }, undefined, 'top1')).toBeUndefined();
    expect(resultClass({}, undefined, 'exact')).toBeUndefined();
  });
});

describe('answerKind', () => {
  it('top-1 for float scores, exact for integers and bools, none for one float', () => {
    expect(answerKind('float32', 10)).toBe('top1');
    expect(answerKind('float16', 2)).toBe('top1');
    expect(answerKind('int64', 1)).toBe('exact');
    expect(answerKind('bool', 64)).toBe('exact');
    expect(answerKind('float32', 1)).toBe('none');
    const outputs = [{ name: 'cls', shape: [1], dtype: 'int64', bytesPerSample: 8 }, { name: 'logits', shape: [1, 10], dtype: 'float32', bytesPerSample: 40 }];
    expect(answerKindOf(outputs)).toBe('exact');
    expect(answerKindOf(outputs, 'logits')).toBe('top1');
  });
});
