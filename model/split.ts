/**
 * Splitting a model at a cut point into a head (input -> cut tensor) and a tail (cut tensor ->
 * outputs). The split is a pure function over the ModelProto; initializers are copied by reference,
 * so external-data entries keep pointing at the same weights file and no weight bytes are copied.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import type { GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from './onnx/index.ts';
import { analyzeGraph, findCutPoints, requiredNodes, type GraphView } from './graph.ts';
import { tensorInfos, type TensorInfo } from './tensor-info.ts';

/** `input`: everything runs in the tail (cloud-only); `output`: everything in the head (edge-only). */
export const INPUT_CUT = 'input';
export const OUTPUT_CUT = 'output';

export interface SplitModels {
  cut: string;
  /** Undefined for the `input` cut. */
  head?: ModelProto;
  /** Undefined for the `output` cut. */
  tail?: ModelProto;
}

/**
 * `cutRank`: the cut tensor's rank where the file declares no shape for it (an inspection's probed
 * shape has it): the parts then declare that many dims of unknown size, as ONNX's checker and other
 * runtimes want a graph input's and output's shape. Without either, the shape is left out
 * (onnxruntime needs none). `inputShapes`: the inputs' dims as served (analyzeGraph), the ones the
 * inspection that named the cut bound.
 */
export function splitModel(
  model: ModelProto, cut: string, source = '<model>', cutRank?: number, inputShapes?: Readonly<Record<string, readonly number[]>>,
): SplitModels {
  const view = analyzeGraph(model.graph, source, inputShapes);
  if (cut === INPUT_CUT) return { cut, tail: model };
  if (cut === OUTPUT_CUT) return { cut, head: model };
  const cuts = findCutPoints(view);
  if (!cuts.includes(cut)) {
    throw new DynasplitError(ErrorCodes.UNKNOWN_CUT,
      `${source}: '${cut}' is not a single-tensor cut point; valid cuts: ${INPUT_CUT}, ${cuts.join(', ')}, ${OUTPUT_CUT}`,
      { details: { file: source, cut } });
  }
  const infos = tensorInfos(model.graph, view);
  const cutInfo = infos.get(cut);
  if (!cutInfo) {
    throw new DynasplitError(ErrorCodes.UNSUPPORTED_MODEL,
      `${source}: the element type of '${cut}' cannot be inferred; add value_info for it to the model`,
      { details: { file: source, cut } });
  }
  const cutValue = valueInfo(cut, cutInfo, cutRank);
  const headNodes = requiredNodes(view, [cut]);
  const tailNodes = requiredNodes(view, view.outputs, new Set([cut]));
  const head = subModel(model, view, headNodes, model.graph.input, [cutValue], `${graphName(model)}_head`);
  const tail = subModel(model, view, tailNodes, [cutValue], model.graph.output, `${graphName(model)}_tail`);
  return { cut, head, tail };
}

function graphName(model: ModelProto): string {
  return model.graph.name || 'graph';
}

function valueInfo(name: string, info: TensorInfo, rank?: number): ValueInfoProto {
  const dim = info.shape?.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d }))
    ?? (rank === undefined ? undefined : Array.from({ length: rank }, () => ({})));
  return { name, type: { tensor_type: { elem_type: info.dtype, ...(dim ? { shape: { dim } } : {}) } } };
}

function subModel(
  model: ModelProto,
  view: GraphView,
  nodeIndices: number[],
  inputs: ValueInfoProto[],
  outputs: ValueInfoProto[],
  name: string,
): ModelProto {
  const nodes: NodeProto[] = nodeIndices.map((i) => view.nodes[i]);
  const used = new Set<string>();
  for (const node of nodes) for (const t of node.input) if (t) used.add(t);
  for (const o of outputs) used.add(o.name);
  const initializer: TensorProto[] = model.graph.initializer.filter((t) => used.has(t.name));
  const produced = new Set(nodes.flatMap((n) => n.output));
  const graph: GraphProto = {
    name,
    node: nodes,
    initializer,
    // Graph inputs the part does not read are dropped (onnxruntime would demand a feed for them).
    input: inputs.filter((v) => used.has(v.name) || initializer.some((t) => t.name === v.name)),
    output: outputs,
    value_info: model.graph.value_info.filter((v) => produced.has(v.name) && !outputs.some((o) => o.name === v.name)),
    doc_string: model.graph.doc_string,
  };
  return { ...model, graph };
}
