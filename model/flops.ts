/**
 * Floating-point operation counts per node, from the shapes of its inputs and outputs. A multiply-add
 * counts as 2 FLOPs (the convention of most papers, so VGG16 at 224x224 is ~31 GFLOPs). Data-movement
 * operators (reshape, transpose, gather, ...) count 0; recurrent layers (LSTM, GRU, RNN) their matrix
 * products over every step; an operator not listed counts one FLOP per output element, an estimate
 * that is right for element-wise operators.
 */
import type { NodeProto } from './onnx/index.ts';

type ShapeOf = (tensor: string) => number[] | undefined;

const MOVEMENT = new Set([
  'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Gather', 'GatherElements', 'Concat', 'Split', 'Slice',
  'Pad', 'Identity', 'Shape', 'Size', 'Expand', 'Tile', 'Constant', 'ConstantOfShape', 'Cast', 'Dropout',
  'DepthToSpace', 'SpaceToDepth',
]);

/** FLOPs per output element for normalisations and reductions that are not a single operation. */
const PER_OUTPUT: Record<string, number> = {
  Softmax: 5, LogSoftmax: 5, LayerNormalization: 8, BatchNormalization: 2, InstanceNormalization: 8,
  Gelu: 8, Erf: 1, Sigmoid: 4, HardSwish: 3, HardSigmoid: 3,
};

const product = (dims: number[] | undefined): number => (dims ?? []).reduce((a, b) => a * b, 1);

function ints(node: NodeProto, name: string): number[] | undefined {
  return node.attribute?.find((a) => a.name === name)?.ints;
}

export function nodeFlops(node: NodeProto, shapeOf: ShapeOf): number {
  const out = shapeOf(node.output[0]);
  const outElems = product(out);
  const input = (k: number) => (node.input[k] ? shapeOf(node.input[k]) : undefined);
  switch (node.op_type) {
    case 'Conv': {
      const w = input(1);
      if (!w) return outElems;
      // weight [Cout, Cin/group, k...]: each output element is a dot product over Cin/group * k... terms
      const macsPerOutput = product(w.slice(1));
      return 2 * outElems * macsPerOutput + (node.input[2] ? outElems : 0);
    }
    case 'ConvTranspose': {
      const x = input(0);
      const w = input(1);
      if (!x || !w) return outElems;
      return 2 * product(x) * product(w.slice(1)) + (node.input[2] ? outElems : 0);
    }
    case 'Gemm': {
      const a = input(0);
      if (!a) return outElems;
      const transA = node.attribute?.find((x) => x.name === 'transA')?.i === 1;
      const k = transA ? a[0] : a[a.length - 1];
      return 2 * outElems * k + (node.input[2] ? outElems : 0);
    }
    case 'MatMul': {
      const a = input(0);
      return a ? 2 * outElems * a[a.length - 1] : outElems;
    }
    case 'LSTM':
    case 'GRU':
    case 'RNN': {
      // X [seq, batch, input] (or [batch, seq, input]), W [directions, gates x hidden, input], R [directions, gates x hidden, hidden]
      const [x, w, r] = [input(0), input(1), input(2)];
      if (!x || !w || !r || x.length < 3 || w.length < 3 || r.length < 3) return outElems;
      const steps = x[0] * x[1];
      const [directions, gateRows, inputSize] = w;
      // Each step, each direction: the input's and the state's matrix products, and ~4 FLOPs per gate element (activations, products).
      return steps * directions * (2 * gateRows * (inputSize + r[2]) + 4 * gateRows);
    }
    case 'MaxPool':
    case 'AveragePool':
    case 'LpPool':
      return outElems * product(ints(node, 'kernel_shape'));
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
    case 'ReduceMean':
    case 'ReduceSum':
    case 'ReduceMax':
      return product(input(0));
    default:
      if (MOVEMENT.has(node.op_type)) return 0;
      return (PER_OUTPUT[node.op_type] ?? 1) * outElems;
  }
}
