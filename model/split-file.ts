/**
 * Writes the head and tail of a split as `.onnx` files that share the original weights file (linked
 * into the output directory, never copied).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { linkExternalData, loadModelFile, writeModelFile, type ModelProto } from './onnx/index.ts';
import { analyzeGraph } from './graph.ts';
import { bindInputDims, fixDims } from './dims.ts';
import { splitModel } from './split.ts';
import { tensorInfos } from './tensor-info.ts';

export interface SplitFiles {
  cut: string;
  /** Undefined for the `input` cut (nothing runs on the edge). */
  headPath?: string;
  /** Undefined for the `output` cut (nothing runs in the cloud). */
  tailPath?: string;
  /** External-data files the parts read, as linked into the output directory. */
  weights: string[];
}

export interface SplitFileOptions {
  /**
   * Symbolic dims to fix in the written parts (e.g. `{ height: 480, width: 640 }`). They are checked
   * against the model's inputs first: with dims given, every open input dim but the batch must be
   * among them (DYNASPLIT_ERR_UNRESOLVED_DIM otherwise). Without, the parts keep the model's dims.
   */
  dims?: Record<string, number>;
  /** The cut tensor's rank, from an inspection, for parts whose file declares no shape there (splitModel). */
  cutRank?: number;
  /** The inputs' dims as the inspection that named the cut bound them (splitModel, analyzeGraph). */
  inputShapes?: Readonly<Record<string, readonly number[]>>;
}

export function splitModelFile(path: string, cut: string, outDir: string, options: SplitFileOptions = {}): SplitFiles {
  const file = loadModelFile(path);
  let model = file.model;
  if (options.dims && Object.keys(options.dims).length > 0) {
    const view = analyzeGraph(model.graph, path);
    bindInputDims(path, view.inputs, tensorInfos(model.graph, view), options.dims);
    model = fixDims(model, options.dims);
  }
  const parts = splitModel(model, cut, path, options.cutRank, options.inputShapes);
  mkdirSync(outDir, { recursive: true });
  const weights = linkExternalData(file.model, file.dir, outDir);
  const write = (name: string, part: ModelProto | undefined) => {
    const target = join(outDir, name);
    rmSync(target, { force: true });
    if (!part) return undefined;
    writeModelFile(target, part);
    return target;
  };
  return { cut, headPath: write('head.onnx', parts.head), tailPath: write('tail.onnx', parts.tail), weights };
}
