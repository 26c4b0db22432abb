/**
 * Random ONNX graphs for the cut-point analysis: DAGs of nodes from a small operator set with random
 * wiring (each node reads earlier tensors, so the graph is acyclic by construction), and the same
 * graphs broken on purpose (forward references, missing tensors, twice-produced tensors, control
 * flow, outputs nothing produces).
 */
import fc from 'fast-check';
import { DataType, type ModelProto, type NodeProto } from '../../model/onnx/index.ts';

interface OpSpec { op: string; inputs: number; outputs: number; optional?: boolean }

/** Enough variety for the analysis: unary, binary, variadic, multi-output, input-less, optional inputs. */
const OPS: readonly OpSpec[] = [
  { op: 'Relu', inputs: 1, outputs: 1 },
  { op: 'Identity', inputs: 1, outputs: 1 },
  { op: 'Sigmoid', inputs: 1, outputs: 1 },
  { op: 'Add', inputs: 2, outputs: 1 },
  { op: 'Mul', inputs: 2, outputs: 1 },
  { op: 'MatMul', inputs: 2, outputs: 1 },
  { op: 'Concat', inputs: 3, outputs: 1 },
  { op: 'Split', inputs: 1, outputs: 2 },
  { op: 'Constant', inputs: 0, outputs: 1 },
  { op: 'Shape', inputs: 1, outputs: 1 },
  { op: 'Clip', inputs: 3, outputs: 1, optional: true },
];

export interface GraphPlan {
  inputs: number;
  initializers: number;
  nodes: { op: number; picks: number[]; skip: boolean[] }[];
  outputs: number[];
}

/** Wiring of a random DAG as indices, resolved against the tensors available at each node. */
export const graphPlan: fc.Arbitrary<GraphPlan> = fc.record({
  inputs: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constant(2) }),
  initializers: fc.nat(3),
  nodes: fc.array(fc.record({
    op: fc.nat(OPS.length - 1),
    // Wiring biased to the newest tensor (chains, where cut points are) with skips now and then
    // (branches, residuals, which hide them).
    picks: fc.array(fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.nat(3) }, { weight: 1, arbitrary: fc.nat(40) }), { minLength: 3, maxLength: 3 }),
    skip: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  }), { minLength: 1, maxLength: 16 }),
  outputs: fc.array(fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(40) }), { minLength: 1, maxLength: 2 }),
});

const floatValue = (name: string) => ({ name, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [{ dim_param: 'N' }, { dim_value: 4 }] } } } });

/** The model a plan describes: SSA (each tensor produced once), outputs taken from the nodes' outputs. */
export function buildGraph(plan: GraphPlan): ModelProto {
  const inputs = Array.from({ length: plan.inputs }, (_, i) => `x${i}`);
  const initializers = Array.from({ length: plan.initializers }, (_, i) => `w${i}`);
  const available = [...initializers, ...inputs]; // newest last: the first node reads an input
  const produced: string[] = [];
  const nodes: NodeProto[] = plan.nodes.map((n, i) => {
    const spec = OPS[n.op];
    // Counting back from the newest tensor: pick 0 is the latest, so chains are common.
    const input = Array.from({ length: spec.inputs }, (_, k) =>
      spec.optional && k > 0 && n.skip[k] ? '' : available[available.length - 1 - (n.picks[k] % available.length)]);
    const output = Array.from({ length: spec.outputs }, (_, k) => (k === 0 ? `t${i}` : `t${i}_${k}`));
    available.push(...output);
    produced.push(...output);
    return { op_type: spec.op, name: `n${i}`, input, output, attribute: [] };
  });
  const outputs = [...new Set(plan.outputs.map((k) => produced[produced.length - 1 - (k % produced.length)]))];
  return {
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: 'fuzz',
      node: nodes,
      initializer: initializers.map((name) => ({ name, dims: [4], data_type: DataType.FLOAT, raw_data: new Uint8Array(16) })),
      input: inputs.map(floatValue),
      output: outputs.map(floatValue),
      value_info: [],
    },
  };
}

export type Breakage = (m: ModelProto) => void;

const nodeAt = (m: ModelProto, k: number) => m.graph.node[k % m.graph.node.length];

/** Ways to break a valid graph; each edits the model in place. */
export const breakage: fc.Arbitrary<Breakage> = fc.oneof(
  // A forward reference: a cycle, or a read of a tensor produced later.
  fc.tuple(fc.nat(), fc.nat(), fc.nat(2)).map(([a, b, slot]): Breakage => (m) => {
    const reader = nodeAt(m, a);
    if (reader.input.length > 0) reader.input[slot % reader.input.length] = nodeAt(m, b).output[0];
  }),
  fc.tuple(fc.nat(), fc.constantFrom('ghost', 'x9', 'w9')).map(([a, name]): Breakage => (m) => { nodeAt(m, a).input.push(name); }),
  // The same tensor produced twice.
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]): Breakage => (m) => { nodeAt(m, a).output[0] = nodeAt(m, b).output[0]; }),
  fc.nat().map((a): Breakage => (m) => { nodeAt(m, a).output.push(''); }),
  fc.tuple(fc.nat(), fc.constantFrom('If', 'Loop', 'Scan')).map(([a, op]): Breakage => (m) => { nodeAt(m, a).op_type = op; }),
  fc.nat().map((a): Breakage => (m) => { nodeAt(m, a).attribute = [{ name: 'body', g: new Uint8Array([8, 1]) }]; }),
  fc.constantFrom<Breakage>(
    (m) => { m.graph.output.push(floatValue('nowhere')); },
    (m) => { m.graph.output.push(floatValue(m.graph.input[0]?.name ?? 'x0')); },
    (m) => { m.graph.output = []; },
    (m) => { m.graph.input = []; },
    (m) => { m.graph.node.reverse(); },
    (m) => { m.graph.input.push(floatValue(m.graph.node[0].output[0])); },
    (m) => { m.graph.initializer.push({ name: m.graph.node[0].output[0], dims: [4], data_type: DataType.FLOAT }); },
    (m) => { m.graph.value_info.push({ name: m.graph.node[0].output[0], type: { tensor_type: { elem_type: 0 } } }); },
  ),
);

/** Random graphs with one to three breakages. */
export const brokenGraph: fc.Arbitrary<ModelProto> = fc.tuple(graphPlan, fc.array(breakage, { minLength: 1, maxLength: 3 }))
  .map(([plan, breaks]) => {
    const model = buildGraph(plan);
    for (const b of breaks) b(model);
    return model;
  });
