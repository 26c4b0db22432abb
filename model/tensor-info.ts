/**
 * What is known about each tensor's element type and shape without running the model: the graph's
 * declared inputs, outputs and value_info, initializer dims, and a small element-type inference for
 * the rest (most operators keep their first input's type; the exceptions are listed).
 */
import { DataType, type GraphProto, type NodeProto, type ValueInfoProto } from './onnx/index.ts';
import type { GraphView } from './graph.ts';

export type Dim = number | string;

export interface TensorInfo {
  dtype: number;
  /** Undefined when the rank is unknown; string entries are symbolic dims (e.g. the batch `N`). */
  shape?: Dim[];
}

const INT64_OUT = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression', 'TopK:1']);
const BOOL_OUT = new Set(['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsNaN', 'IsInf']);

function fromValueInfo(v: ValueInfoProto): TensorInfo | undefined {
  const t = v.type?.tensor_type;
  if (!t?.elem_type) return undefined;
  const shape = t.shape?.dim.map((d): Dim => d.dim_param || (d.dim_value ?? '?'));
  return { dtype: t.elem_type, shape };
}

export function tensorInfos(graph: GraphProto, view: GraphView): Map<string, TensorInfo> {
  const infos = new Map<string, TensorInfo>();
  for (const t of graph.initializer) infos.set(t.name, { dtype: t.data_type, shape: t.dims });
  for (const v of [...graph.input, ...graph.value_info, ...graph.output]) {
    const info = fromValueInfo(v);
    if (info && !infos.has(v.name)) infos.set(v.name, info);
  }
  for (const node of view.nodes) {
    node.output.forEach((out, k) => {
      if (!out || infos.has(out)) return;
      const dtype = outputType(node, k, infos);
      if (dtype !== undefined) infos.set(out, { dtype });
    });
  }
  return infos;
}

function outputType(node: NodeProto, k: number, infos: Map<string, TensorInfo>): number | undefined {
  const op = node.op_type;
  const attr = (name: string) => node.attribute?.find((a) => a.name === name);
  if (INT64_OUT.has(op) || INT64_OUT.has(`${op}:${k}`)) return DataType.INT64;
  if (BOOL_OUT.has(op)) return DataType.BOOL;
  if (op === 'Cast') return attr('to')?.i;
  if (op === 'CastLike') return infos.get(node.input[1])?.dtype;
  if (op === 'Constant') return attr('value')?.t?.data_type ?? (attr('value_ints') ? DataType.INT64 : DataType.FLOAT);
  if (op === 'ConstantOfShape') return attr('value')?.t?.data_type ?? DataType.FLOAT;
  if (op === 'QuantizeLinear') return infos.get(node.input[2])?.dtype ?? DataType.UINT8;
  if (op === 'DequantizeLinear') return infos.get(node.input[1])?.dtype ?? DataType.FLOAT;
  const first = node.input.find((t) => t !== '');
  return first === undefined ? undefined : infos.get(first)?.dtype;
}

/** Concrete per-sample shape: symbolic dims take the given values, 1 when not given. */
export function concreteShape(shape: Dim[], dims: Record<string, number> = {}): number[] {
  return shape.map((d) => (typeof d === 'number' ? d : (dims[d] ?? 1)));
}

export function hasFullShape(info: TensorInfo | undefined): info is TensorInfo & { shape: Dim[] } {
  return info?.shape !== undefined && !info.shape.includes('?');
}
