/** Softmax top-k over a logits vector (or top-k of probabilities): the classes a Result reports. */
export interface Prediction { index: number; score: number }

/**
 * The k highest logits, highest first (ties: lower index first), with their softmax scores. One pass
 * keeps the k best in a small sorted list (O(n·k) for the handful a Result reports) instead of sorting
 * all n indices: for 1,000 ImageNet classes that sort was most of the edge's result handling.
 * `softmax` false: the values are already probabilities and are reported as they are.
 */
export function topK(logits: Float32Array, k: number, softmax = true): Prediction[] {
  const want = Math.min(Math.max(1, k), logits.length);
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const best: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (best.length === want && !(v > logits[best[want - 1]])) continue;
    // Insert after every kept index whose logit is >= v: equal logits keep the lower index first.
    let at = best.length;
    while (at > 0 && !(logits[best[at - 1]] >= v)) at--;
    best.splice(at, 0, i);
    if (best.length > want) best.pop();
  }
  return best.map((index) => ({ index, score: softmax ? Math.exp(logits[index] - max) / sum : logits[index] }));
}
