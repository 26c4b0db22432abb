/**
 * The shape and element type of every tensor a model computes, for the bound input dims: declared
 * ones where every dim is known, measured by one run (shape-probe.ts) for the rest. A declared dim
 * the bindings do not know (`unk__3` from ONNX shape inference, an output's `H_out`) is never taken
 * as 1: the tensor is measured.
 */
import type { ModelFile } from './onnx/index.ts';
import type { GraphView } from './graph.ts';
import { bindInputDims, boundShape, type DimBindings } from './dims.ts';
import { probeShapes } from './shape-probe.ts';
import { tensorInfos } from './tensor-info.ts';

export interface ResolvedTensor { shape: number[]; dtype: number | undefined }

export interface ResolvedShapes {
  get(tensor: string): ResolvedTensor | undefined;
  bindings: DimBindings;
  /** Whether some shapes were measured. */
  probed: boolean;
}

export async function resolveShapes(file: ModelFile, view: GraphView, dims: Record<string, number>): Promise<ResolvedShapes> {
  const infos = tensorInfos(file.model.graph, view);
  const bindings = bindInputDims(file.path, view.inputs, infos, dims);
  const known = new Map<string, ResolvedTensor>();
  for (const [name, shape] of bindings.inputShapes) known.set(name, { shape, dtype: infos.get(name)?.dtype });
  const tensors = new Set([...view.nodes.flatMap((n) => [...n.input, ...n.output]), ...view.outputs]);
  tensors.delete('');
  const missing: string[] = [];
  for (const t of tensors) {
    if (known.has(t)) continue;
    const info = infos.get(t);
    const shape = boundShape(info?.shape, bindings.values);
    if (shape && info?.dtype !== undefined) known.set(t, { shape, dtype: info.dtype });
    else missing.push(t);
  }
  const probed = missing.length > 0 ? await probeShapes(file, bindings.inputShapes, missing) : new Map();
  for (const [name, value] of probed) if (!known.has(name)) known.set(name, value);
  return { get: (t) => known.get(t), bindings, probed: missing.length > 0 };
}
