/**
 * Synthetic weights: how each parameter tensor is initialised, where it goes in the external-data
 * file, and the streaming writer that fills that file chunk by chunk (VGG16's largest tensor alone is
 * 411 MB; the whole file is 528 MB and is never held in memory at once).
 */
import { open } from 'node:fs/promises';
import { endianness } from 'node:os';
import { tensorRng, type Rng } from '../../common/index.ts';

/**
 * How a parameter is initialised.
 * - `uniform` in [-bound, bound). `zeroMean` then subtracts, per output unit, the mean over its
 *   fan-in: `'rows'` for layouts with the output unit first (Conv [out, in, kh, kw], Gemm transB
 *   [out, in]), `'columns'` for MatMul weights [in, out]. Without it the common (DC) component of
 *   the input reaches every logit alike and all inputs get the same top-1 class.
 * - `normal(0, std)`, e.g. class token and position embedding (std 0.02 as in ViT).
 * - `constant`: biases (0), LayerNorm scale (1) and bias (0).
 */
export type WeightInit =
  | { kind: 'uniform'; bound: number; zeroMean?: 'rows' | 'columns' }
  | { kind: 'normal'; std: number }
  | { kind: 'constant'; value: number };

/** One float32 parameter tensor, stored in the external-data file. */
export interface ParamSpec {
  name: string;
  dims: number[];
  init: WeightInit;
}

/** Bytes; external tensors start at multiples of this so they can be mmap-ed page-aligned. */
export const WEIGHT_ALIGNMENT = 4096;
/** Float32 values generated and written per chunk (16 MiB), so large tensors report progress. */
const CHUNK_ELEMENTS = 4 * 1024 * 1024;
const FLOAT_BYTES = 4;

export interface WeightLayout {
  /** Byte offset of each parameter, same order as the specs. */
  offsets: number[];
  /** Byte length of each parameter. */
  lengths: number[];
  /** Size of the whole file in bytes. */
  totalBytes: number;
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Places the parameters one after another, each at the next multiple of WEIGHT_ALIGNMENT. */
export function layoutWeights(params: readonly ParamSpec[]): WeightLayout {
  const offsets: number[] = [];
  const lengths: number[] = [];
  let end = 0;
  for (const param of params) {
    const offset = Math.ceil(end / WEIGHT_ALIGNMENT) * WEIGHT_ALIGNMENT;
    const length = elementCount(param.dims) * FLOAT_BYTES;
    offsets.push(offset);
    lengths.push(length);
    end = offset + length;
  }
  return { offsets, lengths, totalBytes: end };
}

export type ProgressCallback = (doneParams: number, totalParams: number) => void;

/**
 * Writes every parameter to `path` at its layout offset, little-endian float32. The bytes depend only
 * on (seed, parameter name, init), so the file is byte-identical on every run with the same seed.
 */
export async function writeWeights(
  path: string,
  params: readonly ParamSpec[],
  layout: WeightLayout,
  seed: number,
  onProgress?: ProgressCallback,
): Promise<void> {
  const total = params.reduce((sum, p) => sum + elementCount(p.dims), 0);
  const scratch = new Float32Array(Math.max(1, ...params.map((p) => chunkElements(p))));
  const handle = await open(path, 'w');
  let done = 0;
  try {
    for (const [index, param] of params.entries()) {
      const rng = tensorRng(seed, param.name);
      const count = elementCount(param.dims);
      const step = chunkElements(param);
      for (let start = 0; start < count; start += step) {
        const chunk = scratch.subarray(0, Math.min(step, count - start));
        fillChunk(chunk, param, rng);
        const bytes = littleEndianBytes(chunk);
        await handle.write(bytes, 0, bytes.byteLength, layout.offsets[index] + start * FLOAT_BYTES);
        done += chunk.length;
        onProgress?.(done, total);
      }
    }
    // Holes between aligned tensors read back as zeros; the file ends where the last tensor ends.
    await handle.truncate(layout.totalBytes);
  } finally {
    await handle.close();
  }
}

/** Elements generated at once: whole output units for row-wise zero-mean, the whole tensor for columns. */
function chunkElements(param: ParamSpec): number {
  const count = elementCount(param.dims);
  if (param.init.kind === 'uniform' && param.init.zeroMean === 'columns') return count;
  if (param.init.kind === 'uniform' && param.init.zeroMean === 'rows') {
    const row = count / param.dims[0];
    return Math.min(count, Math.max(1, Math.floor(CHUNK_ELEMENTS / row)) * row);
  }
  return Math.min(count, CHUNK_ELEMENTS);
}

function fillChunk(chunk: Float32Array, param: ParamSpec, rng: Rng): void {
  const { init } = param;
  switch (init.kind) {
    case 'constant':
      chunk.fill(init.value);
      return;
    case 'normal':
      rng.fillNormal(chunk, 0, init.std);
      return;
    case 'uniform':
      rng.fillUniform(chunk, -init.bound, init.bound);
      if (init.zeroMean === 'rows') subtractRowMeans(chunk, elementCount(param.dims) / param.dims[0]);
      if (init.zeroMean === 'columns') subtractColumnMeans(chunk, param.dims[param.dims.length - 1]);
  }
}

/** Rows of `rowLength` contiguous values each get mean zero (means summed in float64). */
export function subtractRowMeans(values: Float32Array, rowLength: number): void {
  for (let start = 0; start < values.length; start += rowLength) {
    let sum = 0;
    for (let i = start; i < start + rowLength; i++) sum += values[i];
    const mean = sum / rowLength;
    for (let i = start; i < start + rowLength; i++) values[i] -= mean;
  }
}

/** Columns of a row-major [rows, columns] matrix each get mean zero. */
export function subtractColumnMeans(values: Float32Array, columns: number): void {
  const sums = new Float64Array(columns);
  const rows = values.length / columns;
  for (let i = 0; i < values.length; i++) sums[i % columns] += values[i];
  for (let i = 0; i < values.length; i++) values[i] -= sums[i % columns] / rows;
}

/** ONNX external data is little-endian; Float32Array uses the host's order. */
function littleEndianBytes(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (endianness() === 'LE') return bytes;
  const swapped = new Uint8Array(bytes.length);
  const view = new DataView(swapped.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * FLOAT_BYTES, values[i], true);
  return swapped;
}
