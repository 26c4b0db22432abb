/**
 * Pure analysis of an ONNX graph: topological order, constant folding of the "what depends on the
 * input" question (the shape of an input the file fixes included), and single-tensor cut points.
 *
 * A tensor `t` is a single-tensor cut point when the graph can be run as head(input) -> t and
 * tail(t) -> outputs with nothing but `t` (and weights) crossing between them: every value the tail
 * needs that depends on the input is `t` itself or is computed in the tail.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { DataType, type GraphProto, type NodeProto } from './onnx/index.ts';

/** Control-flow operators carry subgraphs whose captured values defeat single-tensor cuts. */
const CONTROL_FLOW = new Set(['If', 'Loop', 'Scan', 'SequenceMap']);

export interface GraphView {
  /**
   * Nodes that contribute to an output, in topological order; a `Shape` or `Size` of an input whose
   * dims the file fixes is the Constant it evaluates to (foldFixedShapes).
   */
  nodes: NodeProto[];
  /** tensor -> index into `nodes` of the node that produces it. */
  producer: Map<string, number>;
  /** Graph inputs that are not initializers. */
  inputs: string[];
  outputs: string[];
  initializers: Set<string>;
  /** Tensors that do not depend on any graph input (weights and values folded from them). */
  constant: Set<string>;
}

/**
 * `inputShapes`: the inputs' dims as bound for serving (an inspection's, its batch defaulted or given
 * by a card): their reads are folded as where the file fixes them (foldFixedShapes).
 */
export function analyzeGraph(graph: GraphProto, source = '<model>', inputShapes?: Readonly<Record<string, readonly number[]>>): GraphView {
  refuseControlFlow(graph, source);
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.map((v) => v.name).filter((n) => !initializers.has(n));
  const outputs = graph.output.map((v) => v.name);
  const sorted = topologicalOrder(foldFixedShapes(graph, inputs, inputShapes), new Set([...inputs, ...initializers]), source);
  const nodes = pruneDead(sorted, outputs);
  const producer = new Map<string, number>();
  nodes.forEach((node, i) => node.output.forEach((t) => t && producer.set(t, i)));
  for (const out of outputs) {
    if (!producer.has(out) && !inputs.includes(out) && !initializers.has(out)) {
      throw new DynasplitError(ErrorCodes.BAD_MODEL, `${source}: graph output '${out}' is produced by no node`, {
        details: { file: source, tensor: out },
      });
    }
  }
  const constant = new Set(initializers);
  for (const node of nodes) {
    if (node.input.every((t) => t === '' || constant.has(t))) node.output.forEach((t) => constant.add(t));
  }
  return { nodes, producer, inputs, outputs, initializers, constant };
}

/**
 * The graph's nodes, with each `Shape` or `Size` of a graph input whose every dim the file fixes
 * replaced by the Constant it evaluates to: onnxruntime refuses a feed of any other shape, so the value
 * cannot differ. A resize back to the input's size (torchvision's segmentation models,
 * F.interpolate(size=x.shape[-2:])) reads it at the end of the model; as a read of the input it would
 * cross beside every cut, and such a model had none. An input with a symbolic dim keeps its reads,
 * unless `bound` gives its dims as served (the parts made so serve those dims only, as the pipeline
 * does: a frame of another shape is refused).
 */
export function foldFixedShapes(graph: GraphProto, inputs: readonly string[], bound: Readonly<Record<string, readonly number[]>> = {}): NodeProto[] {
  const fixed = new Map<string, number[]>();
  for (const v of graph.input) {
    const dims = v.type?.tensor_type?.shape?.dim;
    if (!inputs.includes(v.name) || !dims) continue;
    const values = bound[v.name] && bound[v.name].length === dims.length
      ? [...bound[v.name]]
      : dims.map((d) => (d.dim_param ? 0 : Number(d.dim_value ?? 0)));
    if (values.every((d) => d > 0)) fixed.set(v.name, values);
  }
  if (fixed.size === 0) return graph.node;
  return graph.node.map((node) => {
    const dims = fixed.get(node.input[0] ?? '');
    if (!dims || (node.domain && node.domain !== 'ai.onnx')) return node;
    if (node.op_type === 'Shape') return constantNode(node, shapeSlice(node, dims), [-1]);
    if (node.op_type === 'Size') return constantNode(node, [dims.reduce((a, b) => a * b, 1)], []);
    return node;
  });
}

/** Shape-15's `start` and `end` (negative counts from the end; clamped to the rank). */
function shapeSlice(node: NodeProto, dims: number[]): number[] {
  const at = (name: string, fallback: number): number => {
    const given = node.attribute?.find((a) => a.name === name)?.i;
    if (given === undefined || given === null) return fallback;
    const i = Number(given);
    return Math.min(dims.length, Math.max(0, i < 0 ? i + dims.length : i));
  };
  return dims.slice(at('start', 0), at('end', dims.length));
}

/** An int64 Constant of `values` (`shape` [-1]: a vector of them; []: a scalar) in place of `node`. */
function constantNode(node: NodeProto, values: number[], shape: number[]): NodeProto {
  const dims = shape.length === 0 ? [] : [values.length];
  return {
    name: node.name, op_type: 'Constant', domain: '', input: [], output: [node.output[0]],
    attribute: [{ name: 'value', type: 4, t: { name: '', dims, data_type: DataType.INT64, int64_data: values } }],
  };
}

function refuseControlFlow(graph: GraphProto, source: string): void {
  for (const node of graph.node) {
    const subgraph = node.attribute?.some((a) => a.g?.length || a.graphs?.length);
    if (CONTROL_FLOW.has(node.op_type) || subgraph) {
      throw new DynasplitError(ErrorCodes.UNSUPPORTED_MODEL,
        `${source}: node '${node.name || node.output[0]}' is a ${node.op_type} (control flow with a subgraph); ` +
        'dynasplit splits only graphs without control flow', { details: { file: source, node: node.name, op: node.op_type } });
    }
  }
}

/**
 * Kahn's algorithm: each node waits for a count of inputs not yet available; among ready nodes the
 * one earliest in the file goes first (a min-heap of indices), so an already sorted graph keeps its
 * order. O(N log N + edges).
 */
function topologicalOrder(nodes: NodeProto[], available: Set<string>, source: string): NodeProto[] {
  const ready = new Set(available);
  const consumers = new Map<string, number[]>();
  const waiting = new Int32Array(nodes.length);
  const heap = new MinHeap();
  nodes.forEach((node, i) => {
    const missing = new Set(node.input.filter((t) => t !== '' && !ready.has(t)));
    waiting[i] = missing.size;
    for (const t of missing) {
      const list = consumers.get(t);
      if (list) list.push(i);
      else consumers.set(t, [i]);
    }
    if (missing.size === 0) heap.push(i);
  });
  const order: NodeProto[] = [];
  for (let i = heap.pop(); i !== undefined; i = heap.pop()) {
    order.push(nodes[i]);
    for (const t of nodes[i].output) {
      if (!t || ready.has(t)) continue;
      ready.add(t);
      for (const c of consumers.get(t) ?? []) if (--waiting[c] === 0) heap.push(c);
    }
  }
  if (order.length < nodes.length) {
    const node = nodes[waiting.findIndex((w) => w > 0)];
    const missing = node.input.find((t) => t !== '' && !ready.has(t));
    throw new DynasplitError(ErrorCodes.BAD_MODEL,
      `${source}: node '${node.name || node.output[0]}' reads '${missing}', which no node, input or initializer provides (or the graph has a cycle)`,
      { details: { file: source, node: node.name, tensor: missing } });
  }
  return order;
}

/** A binary min-heap of node indices. */
class MinHeap {
  readonly #items: number[] = [];

  push(value: number): void {
    const a = this.#items;
    a.push(value);
    for (let i = a.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (a[parent] <= a[i]) break;
      [a[parent], a[i]] = [a[i], a[parent]];
      i = parent;
    }
  }

  pop(): number | undefined {
    const a = this.#items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l] < a[m]) m = l;
        if (r < a.length && a[r] < a[m]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

function pruneDead(nodes: NodeProto[], outputs: string[]): NodeProto[] {
  const needed = new Set(outputs);
  const keep: boolean[] = new Array(nodes.length).fill(false);
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (nodes[i].output.some((t) => needed.has(t))) {
      keep[i] = true;
      nodes[i].input.forEach((t) => t && needed.add(t));
    }
  }
  return nodes.filter((_, i) => keep[i]);
}

/**
 * Indices of the nodes needed to compute `targets`, not looking past `stopAt` (tensors that are
 * given). Returned in topological order.
 */
export function requiredNodes(view: GraphView, targets: Iterable<string>, stopAt: ReadonlySet<string> = new Set()): number[] {
  const seen = new Set<number>();
  const stack = [...targets];
  while (stack.length > 0) {
    const tensor = stack.pop()!;
    if (stopAt.has(tensor)) continue;
    const index = view.producer.get(tensor);
    if (index === undefined || seen.has(index)) continue;
    seen.add(index);
    for (const t of view.nodes[index].input) if (t) stack.push(t);
  }
  return [...seen].sort((a, b) => a - b);
}

/**
 * Single-tensor cut points, in topological order (graph inputs and outputs excluded).
 *
 * Over the DAG of input-dependent tensors, with a virtual source before the graph inputs and a
 * virtual sink after the graph outputs, `t` is a cut point exactly when it dominates the sink: every
 * path from the inputs to an output passes through `t`. (Were some head value needed past `t`, or a
 * graph input or output to bypass it, there would be a path around `t`.) The cut points are then the
 * sink's chain of immediate dominators, found in one pass in topological order (Cooper, Harvey and
 * Kennedy, "A Simple, Fast Dominance Algorithm", 2001): linear for chains, not quadratic.
 */
export function findCutPoints(view: GraphView): string[] {
  const SOURCE = '';
  const dynamic = (t: string) => t !== '' && !view.constant.has(t);
  const rank = new Map<string, number>([[SOURCE, 0]]);
  const idom = new Map<string, string>([[SOURCE, SOURCE]]);
  const intersect = (a: string, b: string): string => {
    while (a !== b) {
      while (rank.get(a)! > rank.get(b)!) a = idom.get(a)!;
      while (rank.get(b)! > rank.get(a)!) b = idom.get(b)!;
    }
    return a;
  };
  const visit = (tensor: string, preds: string[]) => {
    if (rank.has(tensor) || preds.length === 0) return;
    rank.set(tensor, rank.size);
    idom.set(tensor, preds.reduce(intersect));
  };
  for (const input of view.inputs) visit(input, [SOURCE]);
  for (const node of view.nodes) {
    const preds = node.input.filter((t) => dynamic(t) && idom.has(t));
    for (const out of node.output) if (dynamic(out)) visit(out, preds);
  }
  const reaching = view.outputs.filter((t) => idom.has(t));
  if (reaching.length === 0) return [];
  const boundary = new Set([...view.inputs, ...view.outputs]);
  const cuts: string[] = [];
  for (let t = reaching.reduce(intersect); t !== SOURCE; t = idom.get(t)!) {
    if (!boundary.has(t)) cuts.push(t);
  }
  return cuts.reverse();
}
