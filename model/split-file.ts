/**
 * Writes the head and tail of a split as `.onnx` files that share the original weights file (linked
 * into the output directory, never copied).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { linkExternalData, loadModelFile, writeModelFile, type ModelProto } from './onnx/index.ts';
import { splitModel } from './split.ts';

export interface SplitFiles {
  cut: string;
  /** Undefined for the `input` cut (nothing runs on the edge). */
  headPath?: string;
  /** Undefined for the `output` cut (nothing runs in the cloud). */
  tailPath?: string;
  /** External-data files the parts read, as linked into the output directory. */
  weights: string[];
}

export function splitModelFile(path: string, cut: string, outDir: string): SplitFiles {
  const file = loadModelFile(path);
  const parts = splitModel(file.model, cut, path);
  mkdirSync(outDir, { recursive: true });
  const weights = linkExternalData(file.model, file.dir, outDir);
  const write = (name: string, model: ModelProto | undefined) => {
    const target = join(outDir, name);
    rmSync(target, { force: true });
    if (!model) return undefined;
    writeModelFile(target, model);
    return target;
  };
  return { cut, headPath: write('head.onnx', parts.head), tailPath: write('tail.onnx', parts.tail), weights };
}
