/**
 * `dynasplit model verify`: proves a model splits exactly. For every cut, tail(head(x)) is compared
 * with full(x) over seeded inputs (every input of the model, every output), judged relative to each
 * output's own scale (verify-compare.ts), and every tensor codec is applied to what crosses the cut
 * to measure what it costs: top-1 agreement with the full model and the tensor error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { CODEC_NAMES, decodeTensorBytes, encodeTensorBytes, tensorError, type CodecName } from '../codec/index.ts';
import { seededTensor } from '../common/index.ts';
import { inspectModel, shapesOf, type TensorDesc } from './inspect.ts';
import { answerKind, answerOf } from './reference.ts';
import { openSession, type ModelSession, type RunnerOptions } from './runner.ts';
import { zeroArray } from './shape-probe.ts';
import { splitModelFile } from './split-file.ts';
import { FP16_CUT_TOLERANCE, FP32_TOLERANCE, OutputJudge, maxAbsDiff, noiseFloors, outputScales, type OutputCheck } from './verify-compare.ts';

export { FP16_CUT_TOLERANCE, FP32_TOLERANCE, MIN_JUDGEABLE_SCALE, NOISE_FLOOR_MULTIPLE } from './verify-compare.ts';
export type { OutputCheck, Verdict } from './verify-compare.ts';

export interface CodecReport {
  codec: CodecName;
  /**
   * Share of inputs whose answer from the first output equals the full model's (model/reference.ts
   * answerKind): its top-1 class for float scores, its every value for an integer output; null for
   * an output of one float, which is not judged (outputRelErr says how far it moved).
   */
  top1Agreement: number | null;
  /** Largest element error of the decoded cut tensors, over all inputs. */
  maxAbs: number;
  /** Mean relative L2 error of the decoded cut tensors. */
  relL2: number;
  /**
   * How far the codec moved the outputs, the largest over outputs and inputs: a float output's
   * largest difference relative to its scale; an integer or bool output's share of values that
   * changed (0..1: a difference of class indices means nothing).
   */
  outputRelErr: number;
  /** Encoded protobuf message size of what crosses the cut, one sample. */
  wireBytes: number;
}

export interface CutReport {
  cut: string;
  /**
   * The dtype of the tensor crossing the cut (the first model input for `input`). Codecs apply to
   * float32 only: elsewhere `codecs` is empty, and the pipeline does not split there.
   */
  dtype: string;
  /** What the split's outputs were judged to, relative to each output's scale (FP16_CUT_TOLERANCE at a float16 cut). */
  tolerance: number;
  /** Largest |tail(head(x)) - full(x)| over all inputs and outputs. */
  fp32MaxAbsDiff: number;
  /** Largest of the outputs' relative errors. */
  fp32MaxRelErr: number;
  /** Every output judged 'ok'. */
  fp32Ok: boolean;
  outputs: OutputCheck[];
  codecs: CodecReport[];
}

export interface VerifyReport {
  model: string;
  inputs: number;
  /** Relative to each output's own scale. */
  tolerance: number;
  /** Every output of every cut judged 'ok'. */
  ok: boolean;
  /** Outputs the full model's answers cannot judge (too small or not finite): verify does not pass them. */
  unjudged: string[];
  dims: Record<string, number>;
  defaultedBatch: string[];
  cuts: CutReport[];
}

export interface VerifyOptions {
  /** Seeded inputs per cut; default 8. */
  inputs?: number;
  seed?: number;
  codecs?: readonly CodecName[];
  threads?: number;
  /** Values of symbolic dims (see InspectOptions.dims). */
  dims?: Record<string, number>;
  onCut?: (done: number, total: number, cut: string) => void;
}

type Feeds = Record<string, ort.Tensor>;

export async function verifyModel(path: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const inspection = await inspectModel(path, { dims: options.dims });
  const count = options.inputs ?? 8;
  const codecs = options.codecs ?? CODEC_NAMES;
  // Every cut point, the ones the pipeline cannot use too (model split takes them).
  const cuts = [inspection.input, ...inspection.cutPoints, ...inspection.nonFloatCutPoints].map((c) => ({ name: c.name, dtype: c.dtype, rank: c.shape.length }));
  const samples = seededInputs(inspection.inputs, count, options.seed ?? 1);
  const expected = await runFull(path, samples, { threads: options.threads });
  // The same inputs without onnxruntime's graph optimisations: how much the full model's own
  // rounding moves with evaluation order (verify-compare.ts, noise floor).
  const floors = noiseFloors(expected, await runFull(path, samples, { threads: options.threads, graphOptimizationLevel: 'disabled' }));
  const dir = mkdtempSync(join(tmpdir(), 'dynasplit-verify-'));
  const reports: CutReport[] = [];
  try {
    for (const [k, { name: cut, dtype, rank }] of cuts.entries()) {
      options.onCut?.(k, cuts.length, cut);
      const files = splitModelFile(path, cut, join(dir, String(k)), { cutRank: rank, inputShapes: shapesOf(inspection.inputs) });
      const label = (part: string) => `${path} (${part} at '${cut}')`;
      const head = files.headPath ? await openSession(files.headPath, { threads: options.threads, label: label('head') }) : undefined;
      const tail = await openSession(files.tailPath!, { threads: options.threads, label: label('tail') });
      try {
        reports.push(await verifyCut({ cut, dtype }, head, tail, samples, expected, floors, dtype === 'float32' ? codecs : []));
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
  const unjudged = [...new Set(reports.flatMap((r) => r.outputs.filter((o) => o.verdict === 'too-small' || o.verdict === 'not-finite').map((o) => o.name)))];
  return {
    model: path,
    inputs: count,
    tolerance: FP32_TOLERANCE,
    ok: reports.every((r) => r.fp32Ok),
    unjudged,
    dims: inspection.dims,
    defaultedBatch: inspection.defaultedBatch,
    cuts: reports,
  };
}

/** The full model's outputs for every sample, from a session released afterwards. */
async function runFull(path: string, samples: Feeds[], options: RunnerOptions): Promise<Feeds[]> {
  const full = await openSession(path, options);
  const outputs: Feeds[] = [];
  try {
    for (const x of samples) outputs.push(await full.run(x));
  } finally {
    await full.release();
  }
  return outputs;
}

/** The feeds a session takes, out of a larger set. */
function pick(session: ModelSession, feeds: Feeds): Feeds {
  return Object.fromEntries(session.inputs.map((s) => [s.name, feeds[s.name]]));
}

async function verifyCut(
  { cut, dtype }: { cut: string; dtype: string }, head: ModelSession | undefined, tail: ModelSession,
  samples: Feeds[], expected: Feeds[], floors: ReadonlyMap<string, number>, codecs: readonly CodecName[],
): Promise<CutReport> {
  const judge = new OutputJudge(expected, floors);
  const scales = outputScales(expected);
  const acc = codecs.map((codec) => ({ codec, agree: 0, judged: true, maxAbs: 0, relL2: 0, outputRelErr: 0, wireBytes: 0 }));
  for (const [i, x] of samples.entries()) {
    const crossing = head ? await head.run(pick(head, x)) : x;
    judge.add(await tail.run(pick(tail, crossing)), expected[i]);
    for (const a of acc) {
      const coded = codedCrossing(crossing, a.codec);
      a.maxAbs = Math.max(a.maxAbs, coded.maxAbs);
      a.relL2 += coded.relL2 / samples.length;
      a.wireBytes = coded.wireBytes;
      const out = await tail.run(pick(tail, coded.feeds));
      const first = tail.outputNames[0];
      const want = expected[i][first];
      const kind = answerKind(want.type, want.data.length);
      if (kind === 'none') a.judged = false;
      else if (answerOf(kind, out[first].data as ArrayLike<number>) === answerOf(kind, want.data as ArrayLike<number>)) a.agree++;
      for (const name of tail.outputNames) {
        a.outputRelErr = Math.max(a.outputRelErr, outputError(out[name], expected[i][name], scales.get(name) || 1));
      }
    }
  }
  const tolerance = dtype === 'float16' ? FP16_CUT_TOLERANCE : FP32_TOLERANCE;
  const outputs = judge.checks(tolerance);
  return {
    cut,
    dtype,
    tolerance,
    fp32MaxAbsDiff: Math.max(0, ...outputs.map((o) => o.maxAbsDiff)),
    fp32MaxRelErr: Math.max(0, ...outputs.map((o) => o.relErr)),
    fp32Ok: outputs.every((o) => o.verdict === 'ok'),
    outputs,
    codecs: acc.map((a) => ({
      codec: a.codec, top1Agreement: a.judged ? a.agree / samples.length : null, maxAbs: a.maxAbs, relL2: a.relL2, outputRelErr: a.outputRelErr, wireBytes: a.wireBytes,
    })),
  };
}

/** CodecReport.outputRelErr of one output on one input. */
function outputError(got: ort.Tensor, want: ort.Tensor, scale: number): number {
  if (want.type.startsWith('float')) return maxAbsDiff(got, want) / scale;
  const [x, y] = [got.data as ArrayLike<number | bigint>, want.data as ArrayLike<number | bigint>];
  if (x.length !== y.length || got.type !== want.type) return 1;
  let changed = 0;
  for (let i = 0; i < y.length; i++) if (x[i] !== y[i]) changed++;
  return y.length === 0 ? 0 : changed / y.length;
}

/** The crossing tensors through a codec and back; tensors that are not float32 cross as they are. */
function codedCrossing(crossing: Feeds, codec: CodecName) {
  const feeds: Feeds = {};
  let maxAbs = 0;
  let relL2 = 0;
  let wireBytes = 0;
  const floats = Object.values(crossing).filter((t) => t.type === 'float32').length || 1;
  for (const [name, t] of Object.entries(crossing)) {
    if (t.type !== 'float32') {
      feeds[name] = t;
      continue;
    }
    const data = t.data as Float32Array;
    const bytes = encodeTensorBytes({ name, shape: [...t.dims], data }, codec);
    const decoded = decodeTensorBytes(bytes);
    const err = tensorError(data, decoded.data);
    maxAbs = Math.max(maxAbs, err.maxAbs);
    relL2 += err.relL2 / floats;
    wireBytes += bytes.length;
    feeds[name] = new ort.Tensor('float32', decoded.data, decoded.shape);
  }
  return { feeds, maxAbs, relL2, wireBytes };
}

/** Seeded normal values for float32 inputs; zeros for integer and bool inputs (ids, masks). */
function seededInputs(inputs: readonly TensorDesc[], count: number, seed: number): Feeds[] {
  return Array.from({ length: count }, (_, i) => Object.fromEntries(inputs.map((input, k) => {
    const { shape, dtype } = input;
    const name = k === 0 ? `verify-input-${i}` : `verify-input-${i}-${input.name}`;
    const data = dtype === 'float32' ? seededTensor(shape, seed, name) : zeroArray(dtype, shape.reduce((a, b) => a * b, 1));
    return [input.name, new ort.Tensor(dtype as ort.Tensor.Type, data as never, shape)];
  })));
}
