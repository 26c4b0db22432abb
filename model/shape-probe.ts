/**
 * Shapes of intermediate tensors that the model does not declare, found by running it once: a copy
 * of the model that also outputs those tensors is run on a zero input of the bound input shapes.
 * The extra outputs are declared without a type: onnxruntime infers it by each operator's own rule,
 * so the element types measured here are exact too. The copy lives in a temporary directory;
 * errors name the user's file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { dataTypeFromName, dtypeName, linkExternalData, writeModelFile, type ModelFile } from './onnx/index.ts';
import { openSession } from './runner.ts';

export interface ProbedTensor { shape: number[]; dtype: number | undefined }

export async function probeShapes(
  file: ModelFile,
  inputShapes: ReadonlyMap<string, number[]>,
  tensors: string[],
): Promise<Map<string, ProbedTensor>> {
  const dir = mkdtempSync(join(tmpdir(), 'dynasplit-probe-'));
  try {
    const outputs = new Set(file.model.graph.output.map((o) => o.name));
    const extra = tensors.filter((t) => !outputs.has(t)).map((name) => ({ name }));
    const graph = { ...file.model.graph, output: [...file.model.graph.output, ...extra] };
    const path = join(dir, 'probe.onnx');
    linkExternalData(file.model, file.dir, dir);
    writeModelFile(path, { ...file.model, graph });
    const session = await openSession(path, { graphOptimizationLevel: 'disabled', label: `${file.path} (shape probe)` });
    try {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, shape] of inputShapes) feeds[name] = zeros(inputType(file, name), shape);
      const results = await session.run(feeds);
      return new Map(Object.entries(results).map(([name, t]) => [name, { shape: [...t.dims], dtype: dataTypeFromName(t.type) }]));
    } finally {
      await session.release();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function inputType(file: ModelFile, name: string): number {
  return file.model.graph.input.find((v) => v.name === name)?.type?.tensor_type?.elem_type ?? 0;
}

function zeros(dtype: number, shape: number[]): ort.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const type = dtypeName(dtype) as ort.Tensor.Type;
  return new ort.Tensor(type, zeroArray(type, size) as never, shape);
}

/** A zero-filled typed array of onnxruntime's type for `type`. */
export function zeroArray(type: string, size: number) {
  switch (type) {
    case 'float32': return new Float32Array(size);
    case 'float64': return new Float64Array(size);
    case 'int64': return new BigInt64Array(size);
    case 'uint64': return new BigUint64Array(size);
    case 'int32': return new Int32Array(size);
    case 'uint32': return new Uint32Array(size);
    case 'int16': return new Int16Array(size);
    case 'float16': case 'uint16': return new Uint16Array(size);
    case 'int8': return new Int8Array(size);
    case 'bool': case 'uint8': return new Uint8Array(size);
    default: throw new TypeError(`no typed array for ${type}`);
  }
}
