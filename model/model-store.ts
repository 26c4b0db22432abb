/**
 * The models a node serves and their parts. Heads and tails are split on first use into a work
 * directory (a millisecond each; the weights file is linked, not copied) and their sessions live in
 * a SessionCache, so the memory budget decides how many stay warm.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { inspectModelFile, shapesOf, type ModelInspection, type TensorDesc } from './inspect.ts';
import { modelFingerprint } from './fingerprint.ts';
import { loadModelFile } from './onnx/index.ts';
import type { RunStats } from './runner.ts';
import { SessionCache, type AcquireOptions, type SessionLease } from './session-cache.ts';
import { splitModelFile, type SplitFiles } from './split-file.ts';
import { INPUT_CUT, OUTPUT_CUT } from './split.ts';

export interface ServedModel {
  name: string;
  path: string;
  inspection: ModelInspection;
  /** Name and per-sample shape of the model's (first) input. */
  inputName: string;
  inputShape: number[];
  /** Every input and output of the model, with the bound dims. */
  inputs: TensorDesc[];
  outputs: TensorDesc[];
  /** Valid cuts: input, every float32 single-tensor cut point, output. */
  cuts: string[];
  /** The file's fingerprint (fingerprint.ts): a tail request carries it, and a worker with another file refuses it. */
  fingerprint: string;
}

export type Part = 'head' | 'tail';

export interface ModelStoreOptions {
  /** Where split parts are written. */
  workDir: string;
  sessions: SessionCache;
}

export class ModelStore {
  readonly #models = new Map<string, ServedModel>();
  readonly #splits = new Map<string, SplitFiles>();
  readonly #options: ModelStoreOptions;

  constructor(options: ModelStoreOptions) {
    this.#options = options;
  }

  /** Serves the model at `path` as `name`; `dims` are its symbolic dims (the model card's). */
  async add(name: string, path: string, dims: Record<string, number> = {}): Promise<ServedModel> {
    const file = loadModelFile(path);
    const inspection = await inspectModelFile(file, { dims });
    const served: ServedModel = {
      name,
      path,
      inspection,
      inputName: inspection.inputs[0].name,
      inputShape: inspection.inputs[0].shape,
      inputs: inspection.inputs,
      outputs: inspection.outputs,
      cuts: [INPUT_CUT, ...inspection.cutPoints.map((c) => c.name), OUTPUT_CUT],
      fingerprint: modelFingerprint(file),
    };
    this.#models.set(name, served);
    return served;
  }

  get(name: string): ServedModel {
    const model = this.#models.get(name);
    if (!model) {
      throw new DynasplitError(ErrorCodes.UNKNOWN_MODEL, `model '${name}' is not served here; served: ${this.names().join(', ') || '(none)'}`, {
        details: { model: name },
      });
    }
    return model;
  }

  has(name: string): boolean {
    return this.#models.has(name);
  }

  names(): string[] {
    return [...this.#models.keys()];
  }

  /**
   * A session for one part of a model split at `cut`. The head of `output` and the tail of `input`
   * are the whole model; the head of `input` and the tail of `output` do not exist.
   */
  async session(model: string, part: Part, cut: string, options: AcquireOptions = {}): Promise<SessionLease> {
    const served = this.get(model);
    const path = this.#partPath(served, part, cut);
    const label = path === served.path ? path : `${served.path} (${part} at '${cut}')`;
    return this.#options.sessions.acquire(path, { label, ...options });
  }

  /** Runs a part on one tensor and returns its first output (see runAll for several). */
  async run(model: string, part: Part, cut: string, input: ort.Tensor, options: AcquireOptions = {}): Promise<ort.Tensor> {
    const lease = await this.session(model, part, cut, options);
    try {
      const { session } = lease;
      const outputs = await session.run({ [session.inputs[0].name]: input });
      return outputs[session.outputNames[0]];
    } finally {
      lease.release();
    }
  }

  /**
   * Runs a part on named tensors and returns all its outputs: the head of a cut point returns the
   * one cut tensor; the tail (or the head of `output`) returns every output of the model. Feeds the
   * part does not read are left out (a head reads only the inputs it needs); a missing one is
   * refused with DYNASPLIT_ERR_BAD_INPUT naming it. `stats` receives the run's compute time (RunStats).
   */
  async runAll(model: string, part: Part, cut: string, feeds: Record<string, ort.Tensor>, options: AcquireOptions = {}, stats?: RunStats): Promise<Record<string, ort.Tensor>> {
    const lease = await this.session(model, part, cut, options);
    try {
      const { session } = lease;
      const taken = Object.fromEntries(session.inputs.filter((s) => s.name in feeds).map((s) => [s.name, feeds[s.name]]));
      return await session.run(taken, stats);
    } finally {
      lease.release();
    }
  }

  /** Removes the split parts this store wrote (they are derived data, rewritten in a millisecond). */
  removeParts(): void {
    for (const files of this.#splits.values()) {
      for (const path of [files.headPath, files.tailPath, ...files.weights]) if (path) rmSync(path, { force: true });
    }
    this.#splits.clear();
  }

  #partPath(served: ServedModel, part: Part, cut: string): string {
    if ((part === 'head' && cut === OUTPUT_CUT) || (part === 'tail' && cut === INPUT_CUT)) return served.path;
    if ((part === 'head' && cut === INPUT_CUT) || (part === 'tail' && cut === OUTPUT_CUT)) {
      throw new DynasplitError(ErrorCodes.UNKNOWN_CUT, `the ${part} of ${served.name} at '${cut}' is empty`, { details: { model: served.name, cut } });
    }
    const key = `${served.name}\u0000${cut}`;
    let files = this.#splits.get(key);
    if (!files) {
      const dir = join(this.#options.workDir, safeName(served.name), safeName(cut));
      const rank = [...served.inspection.cutPoints, ...served.inspection.nonFloatCutPoints].find((c) => c.name === cut)?.shape.length;
      files = splitModelFile(served.path, cut, dir, { cutRank: rank, inputShapes: shapesOf(served.inspection.inputs) });
      this.#splits.set(key, files);
    }
    return (part === 'head' ? files.headPath : files.tailPath)!;
  }
}

/** A file-system-safe, collision-free directory name for a model or cut name. */
function safeName(name: string): string {
  const readable = name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 80);
  let hash = 0;
  for (const ch of name) hash = (Math.imul(hash, 31) + ch.charCodeAt(0)) | 0;
  return `${readable}-${(hash >>> 0).toString(16)}`;
}
