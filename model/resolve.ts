/**
 * Turns what a user types (a zoo model name or a path to an .onnx file) into a model file, generating
 * zoo models once into a cache directory. Generation writes into a temporary directory that is renamed
 * into place, so an interrupted run never leaves a half-written model behind.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { generateModel, isZooModel, type GenerateOptions } from './zoo/index.ts';

/** Default home of generated zoo models (the CLI lets $DYNASPLIT_CACHE_DIR override it). */
export const DEFAULT_MODEL_CACHE_DIR = join(homedir(), '.cache', 'dynasplit', 'models');

export interface ResolveOptions extends GenerateOptions {
  /** Where generated zoo models are kept. */
  cacheDir: string;
}

export async function resolveModel(nameOrPath: string, options: ResolveOptions): Promise<string> {
  if (!isZooModel(nameOrPath)) return nameOrPath;
  const seed = options.seed ?? 0;
  const dir = join(options.cacheDir, `${nameOrPath}-seed${seed}`);
  const modelPath = join(dir, `${nameOrPath}.onnx`);
  if (existsSync(modelPath)) return modelPath;
  mkdirSync(options.cacheDir, { recursive: true });
  const staging = `${dir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    await generateModel(nameOrPath, staging, options);
    if (!existsSync(modelPath)) renameSync(staging, dir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return modelPath;
}
