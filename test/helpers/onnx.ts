/** Hand-written ONNX graphs for graph-analysis tests: small, inline weights, readable. */
import { DataType, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../../model/onnx/index.ts';

export function node(op: string, inputs: string[], outputs: string[], attribute: NodeProto['attribute'] = []): NodeProto {
  return { op_type: op, input: inputs, output: outputs, name: outputs[0], attribute };
}

export function floatValue(name: string, shape: (number | string)[]): ValueInfoProto {
  const dim = shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d }));
  return { name, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim } } } };
}

export function floatInit(name: string, dims: number[], values?: number[]): TensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(values ?? Array.from({ length: count }, (_, i) => ((i % 7) - 3) / 10));
  return { name, dims, data_type: DataType.FLOAT, raw_data: new Uint8Array(data.buffer) };
}

export function model(nodes: NodeProto[], options: { inputs?: ValueInfoProto[]; outputs?: ValueInfoProto[]; initializers?: TensorProto[]; valueInfo?: ValueInfoProto[] } = {}): ModelProto {
  return {
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    producer_name: 'dynasplit-test',
    graph: {
      name: 'test',
      node: nodes,
      initializer: options.initializers ?? [],
      input: options.inputs ?? [floatValue('x', ['N', 4])],
      output: options.outputs ?? [floatValue('y', ['N', 4])],
      value_info: options.valueInfo ?? [],
    },
  };
}
