/** A model no single tensor separates says why, when a later layer reads its input's shape (model/inspect.ts noCutsReason). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectModel } from '../../../model/index.ts';
import { writeModelFile } from '../../../model/onnx/index.ts';
import { floatValue, model, node } from '../../helpers/onnx.ts';

const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-no-cuts-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('a model without cut points', () => {
  it('whose last layer reshapes to the input\'s shape: none, and the reason names the input', async () => {
    const path = join(scratch, 'shape-late.onnx');
    writeModelFile(path, model([
      node('Relu', ['x'], ['a']),
      node('Sigmoid', ['a'], ['b']),
      node('Shape', ['x'], ['s']),
      node('Reshape', ['b', 's'], ['y']),
    ], { inputs: [floatValue('x', [1, 3, 4, 4])], outputs: [floatValue('y', [1, 3, 4, 4])] }));
    const report = await inspectModel(path);
    expect(report.cutPoints).toEqual([]);
    expect(report.noCutsReason).toMatch(/a later layer reads the shape of input 'x' \('s'/);
  });

  it('with cut points: no reason given', async () => {
    const path = join(scratch, 'plain.onnx');
    writeModelFile(path, model([node('Relu', ['x'], ['a']), node('Sigmoid', ['a'], ['y'])], { inputs: [floatValue('x', [1, 4])], outputs: [floatValue('y', [1, 4])] }));
    const report = await inspectModel(path);
    expect(report.cutPoints.map((c) => c.name)).toEqual(['a']);
    expect(report.noCutsReason).toBeUndefined();
  });
});
