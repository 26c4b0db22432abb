/**
 * ONNX files (model/onnx, model/graph.ts, model/split.ts): `decodeModel` on hostile bytes and on
 * byte mutations of real zoo files, and the cut-point analysis on random graphs. A cut point must
 * split the live nodes into a head and a tail with nothing but the cut tensor (and weights) between.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ErrorCodes } from '../../common/index.ts';
import { analyzeGraph, decodeModel, encodeModel, findCutPoints, requiredNodes, splitModel, type ModelProto } from '../../model/index.ts';
import type { GraphView } from '../../model/index.ts';
import { hostileBytes, mutatedBytes, protobufBytes, randomBytes } from './arbitraries.ts';
import { breakage, brokenGraph, buildGraph, graphPlan } from './graph-arbitraries.ts';
import { attempt, check, type FuzzContext, type FuzzProperty } from './property.ts';

const DECODE_CODES = [ErrorCodes.BAD_MODEL];
const ANALYSIS_CODES = [ErrorCodes.BAD_MODEL, ErrorCodes.UNSUPPORTED_MODEL, ErrorCodes.UNKNOWN_CUT];

/**
 * The cut-point definition, restated as reachability: `cut` is a single-tensor cut point when it is
 * produced by a live node, is neither a graph output nor constant, and every path from a graph
 * input to a graph output passes through it. (A graph output computed from weights alone does not
 * matter: the tail recomputes it.)
 */
function isCutByPaths(view: GraphView, cut: string): boolean {
  if (view.outputs.includes(cut) || view.constant.has(cut) || !view.producer.has(cut)) return false;
  const reached = new Set(view.inputs);
  for (const node of view.nodes) { // topological order: one pass reaches everything reachable
    if (node.input.some((t) => t !== '' && reached.has(t))) for (const t of node.output) if (t !== cut) reached.add(t);
  }
  return view.outputs.every((t) => !reached.has(t));
}

/** Every property a cut of a valid graph must have; `model` is the graph the view was made from. */
function checkCuts(model: ModelProto, view: GraphView, cuts: string[]): void {
  const live = view.nodes.length;
  for (const tensor of view.producer.keys()) {
    check(cuts.includes(tensor) === isCutByPaths(view, tensor), () =>
      `'${tensor}' ${cuts.includes(tensor) ? 'is listed as a cut point but is not one' : 'is a cut point but not listed'} (cuts: ${cuts.join(', ')})`);
  }
  for (const cut of cuts) {
    const head = requiredNodes(view, [cut]);
    const tail = requiredNodes(view, view.outputs, new Set([cut]));
    const covered = new Set([...head, ...tail]);
    check(covered.size === live, `cut '${cut}': head and tail cover ${covered.size} of ${live} live nodes`);
    const shared = head.filter((i) => tail.includes(i) && !view.nodes[i].output.every((t) => t === '' || view.constant.has(t)));
    check(shared.length === 0, () => `cut '${cut}': node(s) ${shared.map((i) => view.nodes[i].name).join(', ')} computed on both sides`);
    const parts = attempt([], () => splitModel(model, cut));
    if (!parts.ok) return;
    const { head: h, tail: t } = parts.value;
    check(h !== undefined && t !== undefined, `cut '${cut}': a part is missing`);
    check(h.graph.output.map((v) => v.name).join() === cut && t.graph.input.map((v) => v.name).join() === cut,
      `cut '${cut}': the head does not end, or the tail does not start, at the cut`);
    check(h.graph.node.length === head.length && t.graph.node.length === tail.length, `cut '${cut}': parts hold other nodes`);
    // Each part must be a complete graph on its own: every tensor it reads is an input, a weight or computed in it.
    attempt([], () => analyzeGraph(h.graph, 'head'));
    attempt([], () => analyzeGraph(t.graph, 'tail'));
  }
}

/** Decoded bytes that get past decodeModel are analysed, their cuts listed and one of them split. */
function analyzeDecoded(bytes: Uint8Array, pick: number): void {
  const decoded = attempt(DECODE_CODES, () => decodeModel(bytes, 'fuzz.onnx'));
  if (!decoded.ok) return;
  check(decoded.value.graph !== undefined && decoded.value.opset_import.length > 0, 'decoded a model without graph or opset');
  attempt(ANALYSIS_CODES, () => {
    const view = analyzeGraph(decoded.value.graph, 'fuzz.onnx');
    const cuts = findCutPoints(view);
    const cut = ['input', 'output', ...cuts, 'no-such-cut'][pick % (cuts.length + 3)];
    return splitModel(decoded.value, cut, 'fuzz.onnx');
  });
}

const zooBytes = (ctx: FuzzContext, name: string) => new Uint8Array(readFileSync(join(ctx.zooDir, `${name}.onnx`)));

export const onnxProperties: FuzzProperty[] = [
  {
    name: 'onnx/analyzeGraph + findCutPoints + splitModel: random DAGs',
    decoder: 'onnx',
    build: () => fc.property(graphPlan, (plan) => {
      const model = buildGraph(plan);
      const out = attempt([], () => {
        const view = analyzeGraph(model.graph);
        return { view, cuts: findCutPoints(view) };
      });
      if (out.ok) checkCuts(model, out.value.view, out.value.cuts);
    }),
  },
  {
    name: 'onnx/encodeModel -> decodeModel: random DAGs keep their cut points',
    decoder: 'onnx',
    build: () => fc.property(graphPlan, (plan) => {
      const model = buildGraph(plan);
      const out = attempt([], () => {
        const cuts = (m: ModelProto) => findCutPoints(analyzeGraph(m.graph)).join();
        return [cuts(model), cuts(decodeModel(encodeModel(model)))];
      });
      if (out.ok) check(out.value[0] === out.value[1], `cuts ${out.value[0]} became ${out.value[1]}`);
    }),
  },
  {
    name: 'onnx/analyzeGraph + findCutPoints + splitModel: broken graphs',
    decoder: 'onnx',
    build: () => fc.property(brokenGraph, fc.nat(), (model, pick) => {
      analyzeDecoded(encodeModel(model), pick);
      attempt(ANALYSIS_CODES, () => {
        const cuts = findCutPoints(analyzeGraph(model.graph));
        return splitModel(model, ['input', 'output', ...cuts][pick % (cuts.length + 2)]);
      });
    }),
  },
  {
    name: 'onnx/decodeModel: random and protobuf-shaped bytes',
    decoder: 'onnx',
    build: () => fc.property(fc.oneof(randomBytes, protobufBytes), fc.nat(), (bytes, pick) => analyzeDecoded(bytes, pick)),
  },
  {
    name: 'onnx/decodeModel: mutated encodings of random graphs',
    decoder: 'onnx',
    build: () => fc.property(hostileBytes(graphPlan.map((p) => encodeModel(buildGraph(p)))), fc.nat(), (bytes, pick) => analyzeDecoded(bytes, pick)),
  },
  {
    name: 'onnx/decodeModel: byte mutations of the zoo vgg16-tiny.onnx',
    decoder: 'onnx',
    shortRuns: 300,
    longRunShare: 0.5,
    build: (ctx) => fc.property(mutatedBytes(fc.constant(zooBytes(ctx, 'vgg16-tiny'))), fc.nat(), (bytes, pick) => analyzeDecoded(bytes, pick)),
  },
  {
    name: 'onnx/analyzeGraph + findCutPoints + splitModel: structural breakages of the zoo vgg16-tiny',
    decoder: 'onnx',
    shortRuns: 300,
    longRunShare: 0.25,
    build: (ctx) => {
      const bytes = zooBytes(ctx, 'vgg16-tiny');
      return fc.property(fc.array(breakage, { minLength: 1, maxLength: 3 }), fc.nat(), (breaks, pick) => {
        const model = decodeModel(bytes); // a fresh copy to break
        for (const b of breaks) b(model);
        analyzeDecoded(encodeModel(model), pick);
      });
    },
  },
  {
    name: 'onnx/decodeModel: byte mutations of the zoo vit-tiny.onnx',
    decoder: 'onnx',
    shortRuns: 150,
    longRunShare: 0.25,
    build: (ctx) => fc.property(mutatedBytes(fc.constant(zooBytes(ctx, 'vit-tiny'))), fc.nat(), (bytes, pick) => analyzeDecoded(bytes, pick)),
  },
];
