/** A model file's fingerprint: the same export anywhere gives the same; other weights or another graph give another. */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelFingerprint } from '../../../model/fingerprint.ts';
import { DataType, loadModelFile, writeModelFile } from '../../../model/onnx/index.ts';
import { floatValue, model, node } from '../../helpers/onnx.ts';

const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-fingerprint-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** y = x * w, w [4] stored in `dir`/w.bin (external data), filled with `fill`. */
function exported(dir: string, fill: number, op = 'Mul'): string {
  mkdirSync(dir, { recursive: true });
  const weights = new Float32Array(4).fill(fill);
  writeFileSync(join(dir, 'w.bin'), new Uint8Array(weights.buffer));
  const path = join(dir, 'm.onnx');
  writeModelFile(path, model([node(op, ['x', 'w'], ['y'])], {
    initializers: [{
      name: 'w', dims: [4], data_type: DataType.FLOAT, data_location: 1,
      external_data: [{ key: 'location', value: 'w.bin' }, { key: 'offset', value: '0' }, { key: 'length', value: '16' }],
    }],
    inputs: [floatValue('x', ['N', 4])], outputs: [floatValue('y', ['N', 4])],
  }));
  return path;
}

describe('modelFingerprint', () => {
  it('is the file\'s and its weights\': a copy elsewhere matches; other weights or another graph do not', () => {
    const a = modelFingerprint(loadModelFile(exported(join(scratch, 'a'), 1)));
    mkdirSync(join(scratch, 'copy'));
    for (const f of ['m.onnx', 'w.bin']) copyFileSync(join(scratch, 'a', f), join(scratch, 'copy', f));
    expect(modelFingerprint(loadModelFile(join(scratch, 'copy', 'm.onnx')))).toBe(a);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(modelFingerprint(loadModelFile(exported(join(scratch, 'b'), 2)))).not.toBe(a);
    expect(modelFingerprint(loadModelFile(exported(join(scratch, 'c'), 1, 'Add')))).not.toBe(a);
  });
});
