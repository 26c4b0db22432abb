/**
 * A model no single tensor separates says why, when a later layer reads its input's shape (model/inspect.ts
 * noCutsReason); where the file fixes that shape, the read is a constant and the model splits (model/graph.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeGraph, findCutPoints } from '../../../model/graph.ts';
import { inspectModel, verifyModel } from '../../../model/index.ts';
import { noCutsReason } from '../../../model/inspect.ts';
import { DataType, loadModelFile, writeModelFile } from '../../../model/onnx/index.ts';
import { floatValue, model, node } from '../../helpers/onnx.ts';

const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-no-cuts-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('a model without cut points', () => {
  /** The last layer reshapes to the input's shape, read by a Shape (sliced as `Shape-15` may) or a Size. */
  function shapeLate(path: string, dims: (number | string)[], reader: 'Shape' | 'Size'): void {
    writeModelFile(path, model([
      node('Relu', ['x'], ['a']),
      node('Sigmoid', ['a'], ['b']),
      ...(reader === 'Shape'
        ? [node('Shape', ['x'], ['s'], [{ name: 'start', type: 2, i: -3 }])]
        : [node('Size', ['x'], ['n']), node('Unsqueeze', ['n', 'zero'], ['s'])]),
      node('Reshape', ['b', 's'], ['y']),
    ], {
      inputs: [floatValue('x', dims)], outputs: [floatValue('y', reader === 'Shape' ? [3, 4, 4] : [48])],
      initializers: [{ name: 'zero', dims: [1], data_type: DataType.INT64, int64_data: [0] }],
    }));
  }

  it('whose last layer reads the shape of an input it cannot bind: none, and the reason names the input', () => {
    const path = join(scratch, 'shape-late.onnx');
    shapeLate(path, ['batch', 3, 4, 4], 'Shape');
    const view = analyzeGraph(loadModelFile(path).model.graph, path);
    expect(findCutPoints(view)).toEqual([]);
    expect(noCutsReason(view)).toMatch(/a later layer reads the shape of input 'x' \('s'/);
  });

  it('whose input\'s dims the file fixes, or the inspection binds (a dynamic batch): its Shape and Size are constants, and every split is the model', async () => {
    for (const [dims, reader] of [[[1, 3, 4, 4], 'Shape'], [[1, 3, 4, 4], 'Size'], [['batch', 3, 4, 4], 'Shape']] as const) {
      const path = join(scratch, `fixed-${reader}-${dims[0]}.onnx`);
      shapeLate(path, [...dims], reader);
      const report = await inspectModel(path);
      expect(report.cutPoints.map((c) => c.name), `${dims} ${reader}`).toEqual(['a', 'b']);
      expect(report.noCutsReason).toBeUndefined();
      const verified = await verifyModel(path, { inputs: 2, codecs: ['fp32'] });
      expect(verified.cuts.filter((c) => c.cut === 'a' || c.cut === 'b').map((c) => [c.cut, c.fp32Ok]), `${dims} ${reader}`).toEqual([['a', true], ['b', true]]);
    }
  });

  it('with cut points: no reason given', async () => {
    const path = join(scratch, 'plain.onnx');
    writeModelFile(path, model([node('Relu', ['x'], ['a']), node('Sigmoid', ['a'], ['y'])], { inputs: [floatValue('x', [1, 4])], outputs: [floatValue('y', [1, 4])] }));
    const report = await inspectModel(path);
    expect(report.cutPoints.map((c) => c.name)).toEqual(['a']);
    expect(report.noCutsReason).toBeUndefined();
  });
});
