/**
 * `dynasplit model inspect`: the cut points of any ONNX model with what the optimizer's cost models
 * need about each (tensor size, FLOPs and weight bytes on either side).
 */
import { DataType, dtypeBytes, dtypeName, loadModelFile, tensorByteSize, type ModelFile } from './onnx/index.ts';
import { analyzeGraph, findCutPoints, requiredNodes, type GraphView } from './graph.ts';
import { nodeFlops } from './flops.ts';
import { probeShapes } from './shape-probe.ts';
import { INPUT_CUT, OUTPUT_CUT } from './split.ts';
import { concreteShape, hasFullShape, tensorInfos, type TensorInfo } from './tensor-info.ts';

export interface CutPointInfo {
  name: string;
  /** Per sample: symbolic dims (the batch) taken as 1 unless given. */
  shape: number[];
  dtype: string;
  bytesPerSample: number;
  flopsBefore: number;
  flopsAfter: number;
  paramBytesBefore: number;
  paramBytesAfter: number;
}

export interface ModelInspection {
  file: string;
  /** Elements of the weight tensors: initializers of rank >= 1 that are not int64/bool (shape and index constants). */
  params: number;
  paramBytes: number;
  flops: number;
  /** 'declared': every shape came from the file; 'probed': some were measured by running the model once. */
  shapes: 'declared' | 'probed';
  /** The cloud-only cut: the raw input crosses the link. */
  input: CutPointInfo;
  /** Single-tensor cut points between input and output, in topological order. */
  cutPoints: CutPointInfo[];
  /** The edge-only cut: only the result crosses the link. */
  output: CutPointInfo;
}

export interface InspectOptions {
  /** Values for symbolic dims (default 1 each). */
  dims?: Record<string, number>;
}

const NOT_PARAMS = new Set<number>([DataType.INT64, DataType.BOOL, DataType.STRING]);

export async function inspectModel(path: string, options: InspectOptions = {}): Promise<ModelInspection> {
  const file = loadModelFile(path);
  const view = analyzeGraph(file.model.graph, path);
  const infos = tensorInfos(file.model.graph, view);
  const { shapeOf, probed } = await resolveShapes(file, view, infos, options.dims ?? {});
  const flops = view.nodes.map((node) => nodeFlops(node, shapeOf));
  const weightBytes = new Map(file.model.graph.initializer.map((t) => [t.name, tensorByteSize(t)]));
  const sideCost = (nodes: number[]) => {
    const used = new Set(nodes.flatMap((i) => view.nodes[i].input).filter((t) => weightBytes.has(t)));
    return {
      flops: nodes.reduce((s, i) => s + flops[i], 0),
      paramBytes: [...used].reduce((s, t) => s + weightBytes.get(t)!, 0),
    };
  };
  const all = sideCost(view.nodes.map((_, i) => i));
  const describe = (name: string, tensor: string, head: { flops: number; paramBytes: number }, tail: typeof head): CutPointInfo => {
    const shape = shapeOf(tensor) ?? [];
    const dtype = infos.get(tensor)?.dtype ?? DataType.FLOAT;
    return {
      name,
      shape,
      dtype: dtypeName(dtype),
      bytesPerSample: shape.reduce((a, b) => a * b, 1) * dtypeBytes(dtype),
      flopsBefore: head.flops,
      flopsAfter: tail.flops,
      paramBytesBefore: head.paramBytes,
      paramBytesAfter: tail.paramBytes,
    };
  };
  const none = { flops: 0, paramBytes: 0 };
  const cutPoints = findCutPoints(view).map((cut) =>
    describe(cut, cut, sideCost(requiredNodes(view, [cut])), sideCost(requiredNodes(view, view.outputs, new Set([cut])))));
  const params = file.model.graph.initializer
    .filter((t) => t.dims.length > 0 && !NOT_PARAMS.has(t.data_type))
    .reduce((s, t) => s + t.dims.reduce((a, b) => a * b, 1), 0);
  return {
    file: path,
    params,
    paramBytes: all.paramBytes,
    flops: all.flops,
    shapes: probed ? 'probed' : 'declared',
    input: describe(INPUT_CUT, view.inputs[0], none, all),
    cutPoints,
    output: describe(OUTPUT_CUT, view.outputs[0], all, none),
  };
}

async function resolveShapes(file: ModelFile, view: GraphView, infos: Map<string, TensorInfo>, dims: Record<string, number>) {
  const tensors = [...new Set(view.nodes.flatMap((n) => [...n.input, ...n.output]))].filter((t) => t !== '');
  const missing = tensors.filter((t) => !hasFullShape(infos.get(t)));
  const probedShapes = missing.length > 0 ? await probeShapes(file, view.inputs, missing, infos, dims) : new Map<string, number[]>();
  const shapeOf = (t: string): number[] | undefined => {
    const info = infos.get(t);
    return probedShapes.get(t) ?? (hasFullShape(info) ? concreteShape(info.shape, dims) : undefined);
  };
  return { shapeOf, probed: missing.length > 0 };
}
