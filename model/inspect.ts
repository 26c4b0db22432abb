/**
 * `dynasplit model inspect`: the cut points of any ONNX model with what the optimizer's cost models
 * need about each (the tensors crossing it, FLOPs and weight bytes on either side).
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { DataType, dtypeBytes, dtypeName, loadModelFile, tensorByteSize, type ModelFile, type NodeProto } from './onnx/index.ts';
import { analyzeGraph, findCutPoints, requiredNodes, type GraphView } from './graph.ts';
import { nodeFlops } from './flops.ts';
import { resolveShapes } from './resolve-shapes.ts';
import { INPUT_CUT, OUTPUT_CUT } from './split.ts';
import { storedTensors, weightTotals } from './weights.ts';

/** One tensor crossing a cut (or a model input or output), with its size for the bound dims. */
export interface TensorDesc {
  name: string;
  shape: number[];
  dtype: string;
  bytesPerSample: number;
}

export interface CutPointInfo {
  name: string;
  /** Shape of the (first) tensor crossing the cut, with the batch dim 1 unless given. */
  shape: number[];
  dtype: string;
  /** Bytes of every tensor crossing the cut, together. */
  bytesPerSample: number;
  flopsBefore: number;
  flopsAfter: number;
  paramBytesBefore: number;
  paramBytesAfter: number;
  /**
   * Every tensor crossing the cut: one for a cut point; every model input for `input` and every
   * output for `output`.
   */
  tensors: TensorDesc[];
}

export interface ModelInspection {
  file: string;
  /** Elements of the weight tensors (initializers and Constant nodes of rank >= 1 that are not int64/bool). */
  params: number;
  paramBytes: number;
  flops: number;
  /** 'declared': every shape came from the file; 'probed': some were measured by running the model once. */
  shapes: 'declared' | 'probed';
  /** Value of every symbolic dim of the inputs, as given or (the batch) defaulted. */
  dims: Record<string, number>;
  /** Batch dims (first dim of an input) that were not given and were taken as 1: sizes are per sample. */
  defaultedBatch: string[];
  inputs: TensorDesc[];
  outputs: TensorDesc[];
  /** The cloud-only cut: every model input crosses the link. */
  input: CutPointInfo;
  /**
   * Single-tensor cut points between input and output whose tensor is float32, in topological order:
   * the cuts the pipeline, the optimizer and the codecs use (the link carries float32 tensors,
   * schemas/tensor.proto).
   */
  cutPoints: CutPointInfo[];
  /**
   * The other single-tensor cut points (a bool mask, int64 indices, a float16 activation), in
   * topological order: `model split` and `model verify` take them, the pipeline does not.
   */
  nonFloatCutPoints: CutPointInfo[];
  /** The edge-only cut: only the results cross the link. */
  output: CutPointInfo;
  /** Where the model has no cut point at all and the likely cause is known: why (noCutsReason). */
  noCutsReason?: string;
}

export interface InspectOptions {
  /**
   * Values for symbolic dims. The batch (first dim of an input) defaults to 1; any other symbolic
   * input dim without a value is refused (DYNASPLIT_ERR_UNRESOLVED_DIM).
   */
  dims?: Record<string, number>;
}

interface Side { flops: number; paramBytes: number }

/** Each input's dims as an inspection bound them: what splitModel needs to cut where the inspection did. */
export function shapesOf(inputs: readonly TensorDesc[]): Record<string, number[]> {
  return Object.fromEntries(inputs.map((i) => [i.name, i.shape]));
}

export async function inspectModel(path: string, options: InspectOptions = {}): Promise<ModelInspection> {
  return inspectModelFile(loadModelFile(path), options);
}

/** inspectModel on a file already loaded (a caller that needs the file too reads and parses it once). */
export async function inspectModelFile(file: ModelFile, options: InspectOptions = {}): Promise<ModelInspection> {
  const { path } = file;
  const plain = analyzeGraph(file.model.graph, path);
  const shapes = await resolveShapes(file, plain, options.dims ?? {});
  // Cut points as served: a read of an input's shape is the constant its bound dims make it (graph.ts).
  const view = inputShapeReader(plain) ? analyzeGraph(file.model.graph, path, Object.fromEntries(shapes.bindings.inputShapes)) : plain;
  const flops = view.nodes.map((node) => nodeFlops(node, (t) => shapes.get(t)?.shape));
  const weightBytes = new Map([...storedTensors(file.model.graph)].map(([name, t]) => [name, tensorByteSize(t)]));
  const sideCost = (nodes: number[]): Side => {
    const used = new Set(nodes.flatMap((i) => view.nodes[i].input).filter((t) => weightBytes.has(t)));
    return {
      flops: nodes.reduce((s, i) => s + flops[i], 0),
      paramBytes: [...used].reduce((s, t) => s + weightBytes.get(t)!, 0),
    };
  };
  const tensor = (name: string): TensorDesc => {
    const info = shapes.get(name);
    if (!info) {
      throw new DynasplitError(ErrorCodes.UNSUPPORTED_MODEL, `${path}: the shape of '${name}' can be neither read nor measured`, {
        details: { file: path, tensor: name },
      });
    }
    const dtype = info.dtype ?? DataType.FLOAT;
    return { name, shape: info.shape, dtype: dtypeName(dtype), bytesPerSample: info.shape.reduce((a, b) => a * b, 1) * dtypeBytes(dtype) };
  };
  const describe = (name: string, tensors: TensorDesc[], head: Side, tail: Side): CutPointInfo => ({
    name,
    shape: tensors[0].shape,
    dtype: tensors[0].dtype,
    bytesPerSample: tensors.reduce((s, t) => s + t.bytesPerSample, 0),
    flopsBefore: head.flops,
    flopsAfter: tail.flops,
    paramBytesBefore: head.paramBytes,
    paramBytesAfter: tail.paramBytes,
    tensors,
  });
  const all = sideCost(view.nodes.map((_, i) => i));
  const none = { flops: 0, paramBytes: 0 };
  const inputs = view.inputs.map(tensor);
  const outputs = view.outputs.map(tensor);
  const cuts = findCutPoints(view).map((cut) =>
    describe(cut, [tensor(cut)], sideCost(requiredNodes(view, [cut])), sideCost(requiredNodes(view, view.outputs, new Set([cut])))));
  return {
    file: path,
    params: weightTotals(file.model.graph).params,
    paramBytes: all.paramBytes,
    flops: all.flops,
    shapes: shapes.probed ? 'probed' : 'declared',
    dims: shapes.bindings.values,
    defaultedBatch: shapes.bindings.defaultedBatch,
    inputs,
    outputs,
    input: describe(INPUT_CUT, inputs, none, all),
    cutPoints: cuts.filter((c) => c.dtype === 'float32'),
    nonFloatCutPoints: cuts.filter((c) => c.dtype !== 'float32'),
    output: describe(OUTPUT_CUT, outputs, all, none),
    ...(cuts.length === 0 ? withReason(noCutsReason(view)) : {}),
  };
}

const withReason = (reason: string | undefined) => (reason ? { noCutsReason: reason } : {});

/**
 * Why no single tensor separates a model, when the cause is the usual one: a later layer reads the
 * shape of an input (a resize back to the input's size, as torchvision's segmentation models and
 * F.interpolate(size=x.shape[-2:]) export it), so the input's shape crosses beside any cut tensor.
 */
export function noCutsReason(view: GraphView): string | undefined {
  const reader = inputShapeReader(view);
  if (!reader) return undefined;
  return `no single tensor separates this model: a later layer reads the shape of input '${reader.input[0]}' ('${reader.output[0]}', `
    + 'as a resize to the input\'s size does), so it would cross beside any cut. Export with the sizes fixed or a scale factor '
    + '(F.interpolate(x, scale_factor=...)); until then the model runs edge-only or cloud-only';
}

/** A node that reads the shape of a graph input (Shape or Size), if any. */
function inputShapeReader(view: GraphView): NodeProto | undefined {
  return view.nodes.find((n) => (n.op_type === 'Shape' || n.op_type === 'Size') && view.inputs.includes(n.input[0]));
}

/**
 * Refuses (DYNASPLIT_ERR_UNSUPPORTED_MODEL, naming the input) a model that frames cannot feed:
 * frames carry float32 inputs only (schemas/tensor.proto).
 */
export function requireFloatInputs(path: string, inputs: readonly TensorDesc[]): void {
  const other = inputs.find((i) => i.dtype !== 'float32');
  if (other) {
    throw new DynasplitError(ErrorCodes.UNSUPPORTED_MODEL, `${path}: input '${other.name}' is ${other.dtype}; frames carry float32 inputs only`, {
      details: { file: path, tensor: other.name },
    });
  }
}

/**
 * Why the pipeline cannot split `model` at `cut`, where it is not one of its cuts: the tensor there
 * is not float32 (the link carries float32 tensors), or the model has no cut point of that name.
 */
export function cutRefusal(nonFloatCutPoints: readonly Pick<CutPointInfo, 'name' | 'dtype'>[], model: string, cut: string): string {
  const other = nonFloatCutPoints.find((c) => c.name === cut);
  return other
    ? `${model}'s cut '${cut}' carries a ${other.dtype} tensor; the pipeline sends float32 tensors only (docs/models.md, "Cut points")`
    : `${model} has no cut '${cut}' (see dynasplit model inspect)`;
}
