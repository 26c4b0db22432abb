/**
 * Turns what a user types (a zoo model name or a path to an .onnx file) into a model file, generating
 * zoo models once into a cache directory. Generation writes into a temporary directory that is renamed
 * into place, so an interrupted run never leaves a half-written model behind.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { generateModel, isZooModel, unknownZooModel, type GenerateOptions } from './zoo/index.ts';
import { refuseDirectory } from './onnx/index.ts';

/** Default home of generated zoo models (the CLI lets $DYNASPLIT_CACHE_DIR override it). */
export const DEFAULT_MODEL_CACHE_DIR = join(homedir(), '.cache', 'dynasplit', 'models');

export interface ResolveOptions extends GenerateOptions {
  /** Where generated zoo models are kept. */
  cacheDir: string;
}

/**
 * The model file for a zoo name (generated on first use) or a path. A word without a directory or an
 * extension that names no file is taken as a misspelled zoo name (DYNASPLIT_ERR_UNKNOWN_MODEL, with the
 * name it resembles); any other missing path is for the loader to report as a missing file.
 */
export async function resolveModel(nameOrPath: string, options: ResolveOptions): Promise<string> {
  if (!isZooModel(nameOrPath)) {
    if (looksLikeZooName(nameOrPath) && !existsSync(nameOrPath)) throw unknownZooModel(nameOrPath, true);
    if (existsSync(nameOrPath)) refuseDirectory(nameOrPath);
    return nameOrPath;
  }
  const seed = options.seed ?? 0;
  const dir = join(options.cacheDir, `${nameOrPath}-seed${seed}`);
  const modelPath = join(dir, `${nameOrPath}.onnx`);
  if (existsSync(modelPath)) return modelPath;
  mkdirSync(options.cacheDir, { recursive: true });
  removeAbandoned(options.cacheDir, `${basename(dir)}.tmp-`);
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

/**
 * Staging folders (`PREFIX<pid>`) of generations whose process is gone (interrupted, killed): a
 * generation still running in another process keeps its own.
 */
function removeAbandoned(cacheDir: string, prefix: string): void {
  for (const entry of readdirSync(cacheDir)) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length));
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) rmSync(join(cacheDir, entry), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // there, but another user's
  }
}

function looksLikeZooName(word: string): boolean {
  return !/[/\\]/.test(word) && extname(word) === '';
}
