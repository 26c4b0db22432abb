import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { isDynasplitError } from '../../../common/index.ts';
import { analyzeGraph, findCutPoints, loadModelFile } from '../../../model/index.ts';
import { floatInit, model, node } from '../../helpers/onnx.ts';

const cuts = (m: ReturnType<typeof model>) => findCutPoints(analyzeGraph(m.graph));

describe('findCutPoints', () => {
  it('finds every intermediate tensor of a chain', () => {
    const m = model([node('Relu', ['x'], ['a']), node('Sigmoid', ['a'], ['b']), node('Relu', ['b'], ['y'])]);
    expect(cuts(m)).toEqual(['a', 'b']);
  });

  it('does not cut inside a residual block, only around it', () => {
    const m = model([
      node('Relu', ['x'], ['a']),
      node('Sigmoid', ['a'], ['b']),
      node('Add', ['a', 'b'], ['c']),
      node('Relu', ['c'], ['y']),
    ]);
    expect(cuts(m)).toEqual(['a', 'c']);
  });

  it('finds nothing between parallel branches', () => {
    const m = model([
      node('Relu', ['x'], ['p']),
      node('Sigmoid', ['x'], ['q']),
      node('Add', ['p', 'q'], ['y']),
    ]);
    expect(cuts(m)).toEqual([]);
  });

  it('treats values computed from weights alone as free on both sides', () => {
    const m = model([
      node('Relu', ['x'], ['a']),
      node('Neg', ['w'], ['w_neg']),
      node('Add', ['a', 'w_neg'], ['b']),
      node('Mul', ['b', 'w_neg'], ['y']),
    ], { initializers: [floatInit('w', [4])] });
    expect(cuts(m)).toEqual(['a', 'b']);
  });

  it('ignores nodes that no output depends on, and sorts nodes listed out of order', () => {
    const m = model([
      node('Relu', ['b'], ['y']),
      node('Relu', ['x'], ['a']),
      node('Exp', ['a'], ['unused']),
      node('Sigmoid', ['a'], ['b']),
    ]);
    expect(cuts(m)).toEqual(['a', 'b']);
  });

  it('does not offer a cut that would leave a second graph output behind', () => {
    const m = model([node('Relu', ['x'], ['aux']), node('Sigmoid', ['aux'], ['b']), node('Relu', ['b'], ['y'])], {
      outputs: [{ name: 'aux' }, { name: 'y' }],
    });
    expect(cuts(m)).toEqual([]);
  });

  it('refuses control flow with a coded error naming the node', () => {
    const m = model([
      node('ReduceSum', ['x'], ['s']),
      node('If', ['s'], ['y'], [{ name: 'then_branch', type: 5, g: new Uint8Array([1]) }, { name: 'else_branch', type: 5, g: new Uint8Array([1]) }]),
    ]);
    try {
      analyzeGraph(m.graph, 'flow.onnx');
      expect.unreachable();
    } catch (err) {
      expect(isDynasplitError(err, 'DYNASPLIT_ERR_UNSUPPORTED_MODEL')).toBe(true);
      expect((err as Error).message).toMatch(/flow\.onnx.*'y'.*If/);
    }
  });

  it('reports a tensor no node produces', () => {
    const m = model([node('Add', ['x', 'ghost'], ['y'])]);
    expect(() => analyzeGraph(m.graph, 'g.onnx')).toThrow(/g\.onnx: node 'y' reads 'ghost'/);
  });
});

describe('cut points of the zoo models', () => {
  const zoo = inject('zooDir');

  it('vgg16-tiny: every intermediate tensor (13 conv, 13 relu, 5 pool, flatten, 5 classifier = 36)', () => {
    const file = loadModelFile(join(zoo, 'vgg16-tiny.onnx'));
    const view = analyzeGraph(file.model.graph);
    const found = findCutPoints(view);
    expect(found).toHaveLength(36);
    const intermediate = view.nodes.flatMap((n) => n.output).filter((t) => !view.outputs.includes(t));
    expect(found).toEqual(intermediate);
  });

  it('vit-tiny: the two residual sums of every block and the embedding/head stages, nothing inside attention', () => {
    const file = loadModelFile(join(zoo, 'vit-tiny.onnx'));
    const found = findCutPoints(analyzeGraph(file.model.graph));
    const inBlocks = found.filter((t) => t.startsWith('block'));
    expect(inBlocks).toEqual([0, 1, 2, 3].flatMap((i) => [`block${i}.residual`, `block${i}.out`]));
    expect(found.length).toBeGreaterThan(inBlocks.length);
  });
});
