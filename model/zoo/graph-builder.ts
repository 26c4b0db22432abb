/**
 * A small bookkeeping layer for writing ONNX graphs by hand: it records inputs, parameters, inline
 * constants and nodes with their output shapes, and builds a ModelProto with a `value_info` entry
 * (dtype + shape, symbolic batch `N`) for every intermediate tensor, so downstream tools know every
 * tensor's size without running the model.
 *
 * Parameter rule (what `paramCount()` and `zooParamCount` count): a parameter is one element of a
 * float32 weight tensor declared with `param()`, i.e. what a framework calls a learnable parameter.
 * Op constants are not parameters: int64 shape/pad/index constants (`int64()`) and float32 scalars
 * such as the attention scale and GELU's 0.5, 1 and √2 (`scalar()`, rank 0). Parameters go to the
 * external-data file; op constants stay inline as `raw_data`.
 */
import { DataType, type AttributeProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../onnx/index.ts';
import { elementCount, type ParamSpec, type WeightInit } from './weights.ts';

/** A tensor dimension: a size, or the symbolic batch dimension. */
export type Dim = number | 'N';
export const BATCH: Dim = 'N';

/** Attribute values: integer, integer list, string, or `{ float }` for FLOAT attributes. */
export type AttrValue = number | number[] | string | { float: number };

/** ONNX AttributeProto.AttributeType */
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_STRING = 3, ATTR_INTS = 7;

/** ONNX IR version 8 (ONNX 1.10+), opset 17 (ONNX 1.12): LayerNormalization is in the default domain. */
export const IR_VERSION = 8;
export const OPSET = 17;

export interface BuildOptions {
  /** External-data file name, relative to the model file (basename only). */
  weightsLocation: string;
  /** Byte offset of each parameter in that file, same order as `params`. */
  offsets: readonly number[];
  /** Extra `metadata_props`. */
  metadata?: Record<string, string>;
}

export class GraphBuilder {
  readonly params: ParamSpec[] = [];
  private readonly constants: TensorProto[] = [];
  private readonly nodes: NodeProto[] = [];
  private readonly shapes = new Map<string, Dim[]>();
  private readonly inputs: string[] = [];
  private readonly outputs: string[] = [];
  /** Node outputs, in node order. */
  private readonly produced: string[] = [];

  constructor(readonly name: string) {}

  input(name: string, shape: Dim[]): string {
    this.declare(name, shape);
    this.inputs.push(name);
    return name;
  }

  /** A float32 parameter tensor (external data, counted as parameters). */
  param(name: string, dims: number[], init: WeightInit): string {
    this.declare(name, dims);
    this.params.push({ name, dims, init });
    return name;
  }

  /** An inline int64 constant (shapes for Reshape, pads for Pad, indices for Gather). */
  int64(name: string, values: number[], dims: number[] = [values.length]): string {
    this.declare(name, dims);
    const view = new DataView(new ArrayBuffer(values.length * 8));
    values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    this.constants.push({ name, dims, data_type: DataType.INT64, raw_data: new Uint8Array(view.buffer) });
    return name;
  }

  /** An inline float32 scalar (rank 0) op constant. */
  scalar(name: string, value: number): string {
    this.declare(name, []);
    const view = new DataView(new ArrayBuffer(4));
    view.setFloat32(0, value, true);
    this.constants.push({ name, dims: [], data_type: DataType.FLOAT, raw_data: new Uint8Array(view.buffer) });
    return name;
  }

  /**
   * Adds a node named `name` whose single output tensor is also called `name` (or `output`, for the
   * graph output). Shapes are given by the caller, who knows the architecture.
   */
  node(op: string, name: string, inputs: string[], shape: Dim[], attrs: Record<string, AttrValue> = {}, output = name): string {
    for (const input of inputs) {
      if (!this.shapes.has(input)) throw new Error(`zoo graph ${this.name}: node ${name} reads undeclared tensor ${input}`);
    }
    this.declare(output, shape);
    this.produced.push(output);
    this.nodes.push({
      name, op_type: op, input: inputs, output: [output],
      attribute: Object.entries(attrs).map(([key, value]) => attribute(key, value)),
    });
    return output;
  }

  /** Marks a node output as a graph output. */
  output(name: string): void {
    if (!this.produced.includes(name)) throw new Error(`zoo graph ${this.name}: output ${name} is not a node output`);
    this.outputs.push(name);
  }

  shape(name: string): Dim[] {
    const shape = this.shapes.get(name);
    if (!shape) throw new Error(`zoo graph ${this.name}: unknown tensor ${name}`);
    return shape;
  }

  /** Parameters as defined above: elements of all `param()` tensors. */
  paramCount(): number {
    return this.params.reduce((sum, p) => sum + elementCount(p.dims), 0);
  }

  build(options: BuildOptions): ModelProto {
    const external: TensorProto[] = this.params.map((p, i) => ({
      name: p.name,
      dims: p.dims,
      data_type: DataType.FLOAT,
      data_location: 1, // TensorProto.DataLocation.EXTERNAL
      external_data: [
        { key: 'location', value: options.weightsLocation },
        { key: 'offset', value: String(options.offsets[i]) },
        { key: 'length', value: String(elementCount(p.dims) * 4) },
      ],
    }));
    const outputs = new Set(this.outputs);
    return {
      ir_version: IR_VERSION,
      producer_name: 'dynasplit',
      opset_import: [{ domain: '', version: OPSET }],
      metadata_props: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: [...external, ...this.constants],
        input: this.inputs.map((n) => this.valueInfo(n)),
        output: this.outputs.map((n) => this.valueInfo(n)),
        value_info: this.produced.filter((n) => !outputs.has(n)).map((n) => this.valueInfo(n)),
      },
    };
  }

  private declare(name: string, shape: Dim[]): void {
    if (this.shapes.has(name)) throw new Error(`zoo graph ${this.name}: tensor ${name} declared twice`);
    this.shapes.set(name, shape);
  }

  private valueInfo(name: string): ValueInfoProto {
    return {
      name,
      type: {
        tensor_type: {
          elem_type: DataType.FLOAT,
          shape: { dim: this.shape(name).map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
        },
      },
    };
  }
}

function attribute(name: string, value: AttrValue): AttributeProto {
  if (typeof value === 'string') return { name, type: ATTR_STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: ATTR_INTS, ints: value };
  if (typeof value === 'number') return { name, type: ATTR_INT, i: value };
  return { name, type: ATTR_FLOAT, f: value.float };
}
