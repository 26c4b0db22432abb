import { describe, expect, it } from 'vitest';
import { encodeTensor } from '../../../codec/index.ts';
import { resultClass } from '../../../model/index.ts';

const raw = (name: string, values: number[]) => encodeTensor({ name, shape: [1, values.length], data: Float32Array.from(values) }, 'fp32');

describe('the class a Result answers', () => {
  it('is class_index for a classification card, even class 0', () => {
    expect(resultClass({ class_index: 3, top_k: [{ index: 3, score: 0.9 }] })).toBe(3);
    expect(resultClass({ class_index: 0, top_k: [{ index: 0, score: 0.9 }] })).toBe(0);
  });

  it('is the argmax of the named output (default the first) for a raw card, whose class_index is unset', () => {
    const result = { outputs: [raw('logits', [0.1, 2, -1]), raw('box', [5, 0, 0, 0])] };
    expect(resultClass(result)).toBe(1);
    expect(resultClass(result, 'box')).toBe(0);
    expect(resultClass(result, 'missing')).toBeUndefined();
  });

  it('is undefined for a Result without an answer (an error), never class 0', () => {
    expect(resultClass({ error: { code: 'DYNASPLIT_ERR_BAD_INPUT' } })).toBeUndefined();
    expect(resultClass({})).toBeUndefined();
  });
});
