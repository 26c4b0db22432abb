/**
 * Where a model keeps its weights: initializers (including those also listed as graph inputs, as
 * torch.onnx.export writes with keep_initializers_as_inputs) and Constant nodes (as Paddle2ONNX and
 * some exporters write them). Shape and index constants (int64, bool, scalars) are not parameters.
 */
import { DataType, tensorByteSize, type GraphProto, type TensorProto } from './onnx/index.ts';

const NOT_PARAMS = new Set<number>([DataType.INT64, DataType.BOOL, DataType.STRING]);

/** Every stored tensor of the graph, by the name its consumers read it under. */
export function storedTensors(graph: GraphProto): Map<string, TensorProto> {
  const stored = new Map<string, TensorProto>(graph.initializer.map((t) => [t.name, t]));
  for (const node of graph.node) {
    if (node.op_type !== 'Constant' || (node.domain && node.domain !== 'ai.onnx')) continue;
    const value = node.attribute?.find((a) => a.name === 'value')?.t;
    if (value && node.output[0]) stored.set(node.output[0], value);
  }
  return stored;
}

/** Whether a stored tensor is a weight (counts as parameters) rather than a shape or index constant. */
export function isWeight(tensor: TensorProto): boolean {
  return tensor.dims.length > 0 && !NOT_PARAMS.has(tensor.data_type);
}

/** Elements and bytes of the weights, wherever they are stored. */
export function weightTotals(graph: GraphProto): { params: number; bytes: number } {
  let params = 0;
  let bytes = 0;
  for (const t of storedTensors(graph).values()) {
    bytes += tensorByteSize(t);
    if (isWeight(t)) params += t.dims.reduce((a, b) => a * b, 1);
  }
  return { params, bytes };
}
