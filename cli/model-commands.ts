/** `dynasplit model ...`: the model toolkit's commands. */
import { createProgress, DynasplitError, ErrorCodes, type Progress } from '../common/index.ts';
import {
  DEFAULT_MODEL_CACHE_DIR, generateModel, inspectModel, resolveModel, splitModelFile, verifyModel, ZOO_MODELS,
  type CutPointInfo, type ModelInspection, type VerifyReport,
} from '../model/index.ts';
import { intOption, stringOption, type Command, type CommandArgs, type Io } from './command.ts';
import { modelCacheDir } from './env.ts';
import { formatBytes, formatCount, table } from './format.ts';

const JSON_OPTION = { type: 'boolean', description: 'print the result as JSON on stdout' } as const;
const SEED_OPTION = { type: 'string', value: 'N', description: 'weight seed of zoo models', default: '0' } as const;


const print = (io: Io, args: CommandArgs, data: unknown, text: () => string) =>
  io.stdout(args.values.json ? `${JSON.stringify(data, null, 2)}\n` : text());

const gen: Command = {
  path: ['model', 'gen'],
  summary: `generate a zoo model with deterministic synthetic weights (${ZOO_MODELS.join(', ')})`,
  usage: 'NAME',
  positionals: { min: 1, max: 1 },
  options: {
    out: { type: 'string', value: 'DIR', description: 'output directory', default: '.' },
    seed: SEED_OPTION,
    json: JSON_OPTION,
  },
  details: 'Writes DIR/NAME.onnx (ONNX opset 17) and DIR/NAME.weights (external data).',
  async run(args, io) {
    const [name] = args.positionals;
    const model = await generateModel(name, stringOption(args, 'out') ?? '.', {
      seed: intOption(args, 'seed', 0),
      onProgress: progressCallback(io, `generating ${name}`, formatCount),
    });
    print(io, args, model, () => `${model.modelPath}\n${model.weightsPath}\n${formatCount(model.params)} parameters\n`);
    return 0;
  },
};

const inspect: Command = {
  path: ['model', 'inspect'],
  summary: 'list the single-tensor cut points of an ONNX model with sizes, FLOPs and weight bytes',
  usage: 'FILE|NAME',
  positionals: { min: 1, max: 1 },
  options: {
    dim: { type: 'string', multiple: true, value: 'NAME=N', description: 'value of a symbolic input dim (default 1; repeatable)' },
    seed: SEED_OPTION,
    json: JSON_OPTION,
  },
  details: 'Sizes are per sample. Shapes come from the file, or from one run on a zero input when it does not declare them.',
  async run(args, io) {
    const path = await resolve(args, io);
    const report = await inspectModel(path, { dims: parseDims(args.values.dim) });
    print(io, args, report, () => inspectText(report));
    return 0;
  },
};

const split: Command = {
  path: ['model', 'split'],
  summary: 'write the head and tail of a model split at a cut point (sharing its weights file)',
  usage: 'FILE|NAME',
  positionals: { min: 1, max: 1 },
  options: {
    at: { type: 'string', value: 'CUT', description: "cut point name from 'model inspect', or input / output" },
    out: { type: 'string', value: 'DIR', description: 'output directory for head.onnx and tail.onnx', default: '.' },
    seed: SEED_OPTION,
    json: JSON_OPTION,
  },
  async run(args, io) {
    const cut = stringOption(args, 'at');
    if (!cut) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'missing --at CUT (see: dynasplit model inspect FILE)');
    const path = await resolve(args, io);
    const started = performance.now();
    const files = splitModelFile(path, cut, stringOption(args, 'out') ?? '.');
    const ms = performance.now() - started;
    print(io, args, { ...files, ms }, () =>
      `${files.headPath ?? '(no head: cloud-only)'}\n${files.tailPath ?? '(no tail: edge-only)'}\nsplit in ${ms.toFixed(1)} ms (measured)\n`);
    return 0;
  },
};

const verify: Command = {
  path: ['model', 'verify'],
  summary: 'check that every split reproduces the full model and measure each codec at each cut',
  usage: 'FILE|NAME',
  positionals: { min: 1, max: 1 },
  options: {
    inputs: { type: 'string', value: 'N', description: 'seeded inputs per cut', default: '8' },
    threads: { type: 'string', value: 'N', description: 'onnxruntime intra-op threads (0: one per core)', default: '0' },
    seed: SEED_OPTION,
    json: JSON_OPTION,
  },
  details: 'Exits 1 when an fp32 split disagrees with the full model anywhere.',
  async run(args, io) {
    const path = await resolve(args, io);
    const report = await verifyModel(path, {
      inputs: intOption(args, 'inputs', 8) || 1,
      threads: intOption(args, 'threads', 0),
      onCut: progressCallback(io, 'verifying cuts'),
    });
    print(io, args, report, () => verifyText(report));
    return report.ok ? 0 : 1;
  },
};

export const modelCommands: Command[] = [gen, inspect, split, verify];

async function resolve(args: CommandArgs, io: Io): Promise<string> {
  const [name] = args.positionals;
  return resolveModel(name, {
    cacheDir: modelCacheDir() ?? DEFAULT_MODEL_CACHE_DIR,
    seed: intOption(args, 'seed', 0),
    onProgress: progressCallback(io, `generating ${name}`, formatCount),
  });
}

/** A (done, total) callback drawing a progress bar on stderr, created on first call, closed at done === total. */
function progressCallback(io: Io, label: string, format?: (n: number) => string) {
  let progress: Progress | undefined;
  return (done: number, total: number, note?: string) => {
    progress ??= createProgress({ write: io.stderr, isTTY: io.isTTY }, label, total, format);
    if (done < total) progress.update(done, note);
    else progress.done();
  };
}

function parseDims(raw: unknown): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const entry of Array.isArray(raw) ? raw : []) {
    const [name, value] = String(entry).split('=');
    if (!name || !/^\d+$/.test(value ?? '') || Number(value) < 1) {
      throw new DynasplitError(ErrorCodes.BAD_ARGS, `--dim takes NAME=N with N >= 1, got '${String(entry)}'`);
    }
    dims[name] = Number(value);
  }
  return dims;
}

function inspectText(r: ModelInspection): string {
  const row = (c: CutPointInfo) => [c.name, `[${c.shape.join(',')}]`, c.dtype, formatBytes(c.bytesPerSample),
    (c.flopsBefore / 1e9).toFixed(3), (c.flopsAfter / 1e9).toFixed(3), formatBytes(c.paramBytesBefore), formatBytes(c.paramBytesAfter)];
  return [
    `${r.file}: ${formatCount(r.params)} parameters (${formatBytes(r.paramBytes)}), ${(r.flops / 1e9).toFixed(2)} GFLOPs per sample, ` +
      `${r.cutPoints.length} cut points (shapes ${r.shapes})`,
    table(['cut', 'shape', 'dtype', 'bytes', 'GFLOPs before', 'GFLOPs after', 'weights before', 'weights after'],
      [row(r.input), ...r.cutPoints.map(row), row(r.output)]),
  ].join('\n');
}

function verifyText(r: VerifyReport): string {
  const codecs = r.cuts[0]?.codecs.map((c) => c.codec) ?? [];
  const rows = r.cuts.map((c) => [c.cut, c.fp32MaxAbsDiff.toExponential(1), c.fp32Ok ? 'ok' : 'FAIL',
    ...c.codecs.map((k) => `${(k.top1Agreement * 100).toFixed(0)}% ${k.relL2.toExponential(1)}`)]);
  return [
    `${r.model}: ${r.cuts.length} cuts x ${r.inputs} inputs; fp32 tolerance ${r.tolerance} (relative to max(1, |logit|))`,
    `per codec: top-1 agreement with the full model, mean relative L2 error of the cut tensor`,
    table(['cut', 'fp32 max|diff|', 'fp32', ...codecs], rows),
    r.ok ? 'all splits agree with the full model' : 'SOME SPLITS DISAGREE WITH THE FULL MODEL',
    '',
  ].join('\n');
}
