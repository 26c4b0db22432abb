import { describe, expect, it } from 'vitest';
import { topK } from '../../../model/index.ts';

/** The definition: every index sorted by logit, highest first, ties by lower index. */
function bySort(logits: Float32Array, k: number): number[] {
  return Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b).slice(0, Math.max(1, k));
}

describe('topK', () => {
  it('picks the k highest logits, highest first, ties by lower index, as a full sort would', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let t = 0; t < 500; t++) {
      // Few distinct values, so ties are common.
      const logits = Float32Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 6) - 3);
      const k = Math.floor(rnd() * 8);
      expect(topK(logits, k).map((p) => p.index)).toEqual(bySort(logits, k));
    }
  });

  it('gives softmax scores over all logits, and at least one class', () => {
    const top = topK(Float32Array.from([0, Math.log(3)]), 0);
    expect(top).toHaveLength(1);
    expect(top[0].index).toBe(1);
    expect(top[0].score).toBeCloseTo(0.75, 6); // log(3) rounded to float32
    expect(topK(Float32Array.from([1, 2]), 10).map((p) => p.index)).toEqual([1, 0]);
  });
});
