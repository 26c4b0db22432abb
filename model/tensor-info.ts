/**
 * What is known about each tensor's element type and shape without running the model: the graph's
 * declared inputs, outputs and value_info, initializer and Constant-node dims, and each operator's
 * own output-type rule (op-types.ts) for the rest.
 */
import type { GraphProto, ValueInfoProto } from './onnx/index.ts';
import type { GraphView } from './graph.ts';
import { outputType } from './op-types.ts';

/** A dim: a size, a symbolic name (`N`, `unk__12`), or '?' when the model names neither. */
export type Dim = number | string;

export interface TensorInfo {
  dtype: number;
  /** Undefined when the rank is unknown; string entries are symbolic dims. */
  shape?: Dim[];
}

export function fromValueInfo(v: ValueInfoProto): TensorInfo | undefined {
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
  const typeOf = (t: string) => infos.get(t)?.dtype;
  for (const node of view.nodes) {
    node.output.forEach((out, k) => {
      if (!out || infos.has(out)) return;
      const value = node.op_type === 'Constant' ? node.attribute?.find((a) => a.name === 'value')?.t : undefined;
      const dtype = outputType(node, k, typeOf);
      if (dtype !== undefined) infos.set(out, value ? { dtype, shape: value.dims } : { dtype });
    });
  }
  return infos;
}
