/**
 * `dynasplit model verify`: proves a model splits exactly. For every cut point, tail(head(x)) is
 * compared with full(x) over seeded inputs, and every tensor codec is applied at the cut to measure
 * what it costs: top-1 agreement with the full model and the tensor error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { CODEC_NAMES, decodeTensorBytes, encodeTensorBytes, tensorError, type CodecName } from '../codec/index.ts';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { inspectModel } from './inspect.ts';
import { argmax } from './reference.ts';
import { openSession, type ModelSession } from './runner.ts';
import { splitModelFile } from './split-file.ts';
import { INPUT_CUT } from './split.ts';
import { seededTensor } from '../common/index.ts';

/** fp32 split must reproduce the full model to this, relative to the logits' magnitude (max(1, |y|max)). */
export const FP32_TOLERANCE = 1e-5;

export interface CodecReport {
  codec: CodecName;
  /** Share of inputs whose top-1 class equals the full model's. */
  top1Agreement: number;
  /** Largest element error of the decoded cut tensor, over all inputs. */
  maxAbs: number;
  /** Mean relative L2 error of the decoded cut tensor. */
  relL2: number;
  /** Encoded protobuf message size for one sample. */
  wireBytes: number;
}

export interface CutReport {
  cut: string;
  /** Largest |tail(head(x)) - full(x)| over all inputs and outputs. */
  fp32MaxAbsDiff: number;
  fp32Ok: boolean;
  codecs: CodecReport[];
}

export interface VerifyReport {
  model: string;
  inputs: number;
  tolerance: number;
  ok: boolean;
  cuts: CutReport[];
}

export interface VerifyOptions {
  /** Seeded inputs per cut; default 8. */
  inputs?: number;
  seed?: number;
  codecs?: readonly CodecName[];
  threads?: number;
  onCut?: (done: number, total: number, cut: string) => void;
}

export async function verifyModel(path: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const inspection = await inspectModel(path);
  const count = options.inputs ?? 8;
  const codecs = options.codecs ?? CODEC_NAMES;
  const cuts = [INPUT_CUT, ...inspection.cutPoints.map((c) => c.name)];
  const full = await openSession(path, { threads: options.threads });
  const input = full.inputs[0];
  if (full.inputs.length !== 1 || input.dtype !== 'float32') {
    await full.release();
    throw new DynasplitError(ErrorCodes.UNSUPPORTED_MODEL, `${path}: verify feeds one float32 input; the model takes ${full.inputs.map((i) => `${i.name} (${i.dtype})`).join(', ')}`, { details: { file: path } });
  }
  const samples = seededInputs(inspection.input.shape, count, options.seed ?? 1);
  const expected = [];
  for (const x of samples) expected.push(await full.run({ [input.name]: x }));
  await full.release();
  const dir = mkdtempSync(join(tmpdir(), 'dynasplit-verify-'));
  const reports: CutReport[] = [];
  try {
    for (const [k, cut] of cuts.entries()) {
      options.onCut?.(k, cuts.length, cut);
      const files = splitModelFile(path, cut, join(dir, String(k)));
      const head = files.headPath ? await openSession(files.headPath, { threads: options.threads }) : undefined;
      const tail = await openSession(files.tailPath!, { threads: options.threads });
      try {
        reports.push(await verifyCut(cut, input.name, head, tail, samples, expected, codecs));
      } finally {
        await head?.release();
        await tail.release();
        rmSync(join(dir, String(k)), { recursive: true, force: true });
      }
    }
    options.onCut?.(cuts.length, cuts.length, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { model: path, inputs: count, tolerance: FP32_TOLERANCE, ok: reports.every((r) => r.fp32Ok), cuts: reports };
}

type Outputs = Record<string, ort.Tensor>;

async function verifyCut(
  cut: string, inputName: string, head: ModelSession | undefined, tail: ModelSession,
  samples: ort.Tensor[], expected: Outputs[], codecs: readonly CodecName[],
): Promise<CutReport> {
  const tailInput = tail.inputs[0].name;
  let fp32MaxAbsDiff = 0;
  let fp32Ok = true;
  const acc = codecs.map((codec) => ({ codec, agree: 0, maxAbs: 0, relL2: 0, wireBytes: 0 }));
  for (const [i, x] of samples.entries()) {
    const cutTensor = head ? Object.values(await head.run({ [inputName]: x }))[0] : x;
    const y = await tail.run({ [tailInput]: cutTensor });
    for (const name of tail.outputNames) {
      const diff = maxAbsDiff(y[name].data as Float32Array, expected[i][name].data as Float32Array);
      fp32MaxAbsDiff = Math.max(fp32MaxAbsDiff, diff.maxAbs);
      if (!(diff.maxAbs <= FP32_TOLERANCE * Math.max(1, diff.scale))) fp32Ok = false;
    }
    const data = cutTensor.data as Float32Array;
    for (const a of acc) {
      const bytes = encodeTensorBytes({ name: cut, shape: [...cutTensor.dims], data }, a.codec);
      const decoded = decodeTensorBytes(bytes);
      const err = tensorError(data, decoded.data);
      a.maxAbs = Math.max(a.maxAbs, err.maxAbs);
      a.relL2 += err.relL2 / samples.length;
      a.wireBytes = bytes.length;
      const out = await tail.run({ [tailInput]: new ort.Tensor('float32', decoded.data, decoded.shape) });
      const first = tail.outputNames[0];
      if (argmax(out[first].data as Float32Array) === argmax(expected[i][first].data as Float32Array)) a.agree++;
    }
  }
  return {
    cut,
    fp32MaxAbsDiff,
    fp32Ok,
    codecs: acc.map((a) => ({ codec: a.codec, top1Agreement: a.agree / samples.length, maxAbs: a.maxAbs, relL2: a.relL2, wireBytes: a.wireBytes })),
  };
}

function seededInputs(shape: number[], count: number, seed: number): ort.Tensor[] {
  return Array.from({ length: count }, (_, i) => new ort.Tensor('float32', seededTensor(shape, seed, `verify-input-${i}`), shape));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): { maxAbs: number; scale: number } {
  let maxAbs = a.length === b.length ? 0 : Infinity;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return { maxAbs: Infinity, scale };
    if (d > maxAbs) maxAbs = d;
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { maxAbs, scale };
}

