/** Softmax top-k over a logits vector: the classes a Result reports. */
export interface Prediction { index: number; score: number }

export function topK(logits: Float32Array, k: number): Prediction[] {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b).slice(0, Math.max(1, k));
  return order.map((index) => ({ index, score: Math.exp(logits[index] - max) / sum }));
}
