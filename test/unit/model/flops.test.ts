/** FLOPs per node (model/flops.ts): the recurrent layers count their matrix products over every step. */
import { describe, expect, it } from 'vitest';
import { nodeFlops } from '../../../model/index.ts';
import { node } from '../../helpers/onnx.ts';

const shapes = (known: Record<string, number[]>) => (t: string) => known[t];

describe('nodeFlops', () => {
  it('an LSTM over 20 steps: 4 gates, the input and state products each step, both directions', () => {
    // X [20, 1, 16], hidden 32, bidirectional: W [2, 128, 16], R [2, 128, 32]
    const lstm = node('LSTM', ['x', 'w', 'r'], ['y']);
    const flops = nodeFlops(lstm, shapes({ x: [20, 1, 16], w: [2, 128, 16], r: [2, 128, 32], y: [20, 2, 1, 32] }));
    expect(flops).toBe(20 * 2 * (2 * 128 * (16 + 32) + 4 * 128));
    // Hundreds of times what one FLOP per output element (1,280) said.
    expect(flops).toBeGreaterThan(100 * 20 * 2 * 32);
  });

  it('a GRU has 3 gates, an RNN 1, read from W; without their shapes, one FLOP per output element', () => {
    const gru = nodeFlops(node('GRU', ['x', 'w', 'r'], ['y']), shapes({ x: [1, 10, 8], w: [1, 48, 8], r: [1, 48, 16], y: [10, 1, 1, 16] }));
    expect(gru).toBe(10 * (2 * 48 * (8 + 16) + 4 * 48));
    expect(nodeFlops(node('RNN', ['x', 'w', 'r'], ['y']), shapes({ y: [5, 1, 1, 4] }))).toBe(20);
  });

  it('a MatMul counts a multiply-add as 2', () => {
    expect(nodeFlops(node('MatMul', ['a', 'b'], ['c']), shapes({ a: [1, 8, 16], b: [16, 4], c: [1, 8, 4] }))).toBe(2 * 32 * 16);
  });
});
