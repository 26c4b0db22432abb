/** The cut tensor's declared shape in split parts (model/split.ts): from the file, else its rank from an inspection. */
import { describe, expect, it } from 'vitest';
import { splitModel } from '../../../model/index.ts';
import { floatInit, floatValue, model, node } from '../../helpers/onnx.ts';

// A MatMul whose weights' shape the file declares nowhere but in the initializer: the cut 'h' has no declared shape.
const net = () => model([node('MatMul', ['x', 'w'], ['h']), node('Relu', ['h'], ['y'])], {
  inputs: [floatValue('x', ['N', 4])], outputs: [floatValue('y', ['N', 3])], initializers: [floatInit('w', [4, 3])],
});
const cutDims = (rank?: number) => {
  const { head, tail } = splitModel(net(), 'h', 'net.onnx', rank);
  return [head!.graph.output[0], tail!.graph.input[0]].map((v) => v.type?.tensor_type?.shape?.dim);
};

describe('the cut tensor in split parts', () => {
  it('declares as many dims of unknown size as the inspected rank, where the file says nothing of its shape', () => {
    const [out, input] = cutDims(2);
    expect(out).toEqual([{}, {}]);
    expect(input).toEqual([{}, {}]);
  });

  it('declares no shape without a rank (onnxruntime needs none), never a guessed one', () => {
    expect(cutDims()).toEqual([undefined, undefined]);
  });
});
