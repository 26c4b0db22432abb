/**
 * Shapes of intermediate tensors that the model does not declare, found by running it once: a copy
 * of the model that also outputs those tensors is run on a zero input (symbolic dims set to the
 * given values, 1 by default). Exact for every operator onnxruntime supports.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { dtypeName, linkExternalData, writeModelFile, type ModelFile } from './onnx/index.ts';
import { openSession } from './runner.ts';
import { concreteShape, type TensorInfo } from './tensor-info.ts';

export async function probeShapes(
  file: ModelFile,
  inputs: string[],
  tensors: string[],
  infos: Map<string, TensorInfo>,
  dims: Record<string, number> = {},
): Promise<Map<string, number[]>> {
  const dir = mkdtempSync(join(tmpdir(), 'dynasplit-probe-'));
  try {
    const extra = tensors.filter((t) => infos.has(t)).map((name) => ({
      name,
      type: { tensor_type: { elem_type: infos.get(name)!.dtype } },
    }));
    const graph = { ...file.model.graph, output: [...file.model.graph.output, ...extra] };
    const path = join(dir, 'probe.onnx');
    linkExternalData(file.model, file.dir, dir);
    writeModelFile(path, { ...file.model, graph });
    const session = await openSession(path, { graphOptimizationLevel: 'disabled' });
    try {
      const feeds: Record<string, ort.Tensor> = {};
      for (const name of inputs) feeds[name] = zeros(file.path, name, infos.get(name), dims);
      const results = await session.run(feeds);
      return new Map(Object.entries(results).map(([name, t]) => [name, [...t.dims]]));
    } finally {
      await session.release();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function zeros(path: string, name: string, info: TensorInfo | undefined, dims: Record<string, number>): ort.Tensor {
  if (!info?.shape) {
    throw new DynasplitError(ErrorCodes.UNSUPPORTED_MODEL, `${path}: input '${name}' declares no shape`, {
      details: { file: path, tensor: name },
    });
  }
  const shape = concreteShape(info.shape, dims);
  const size = shape.reduce((a, b) => a * b, 1);
  const type = dtypeName(info.dtype) as ort.Tensor.Type;
  const data = type === 'int64' ? new BigInt64Array(size) : type === 'bool' ? new Uint8Array(size) : arrayFor(type, size);
  return new ort.Tensor(type, data as never, shape);
}

function arrayFor(type: string, size: number) {
  switch (type) {
    case 'float32': return new Float32Array(size);
    case 'float64': return new Float64Array(size);
    case 'int32': return new Int32Array(size);
    case 'int8': return new Int8Array(size);
    case 'uint8': return new Uint8Array(size);
    case 'float16': case 'uint16': return new Uint16Array(size);
    case 'int16': return new Int16Array(size);
    default: return new Float32Array(size);
  }
}
