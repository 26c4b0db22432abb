/** `dynasplit model ...`: the model toolkit's commands. */
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DynasplitError, ErrorCodes, progressCallback as commonProgress } from '../common/index.ts';
import {
  checkCard, DEFAULT_MODEL_CACHE_DIR, generateModel, imageInputOf, inspectModel, loadModelCard, parseDimArgs, resolveModel, shapesOf, splitModelFile,
  isZooModel, unknownZooModel, verifyModel, NOISE_FLOOR_MULTIPLE, ZOO_MODELS, type CutPointInfo, type ImageInput, type LoadedCard, type ModelInspection, type TensorDesc, type VerifyReport,
} from '../model/index.ts';
import { intOption, prepareOutDir, stringOption, type Command, type CommandArgs, type Io } from './command.ts';
import { modelCacheDir } from './env.ts';
import { interruptedLine, INTERRUPTED_EXIT, onInterrupt } from './interrupt.ts';
import { formatBytes, formatCount, table } from './format.ts';

const JSON_OPTION = { type: 'boolean', description: 'print the result as JSON on stdout' } as const;
const SEED_OPTION = { type: 'string', value: 'N', description: 'weight seed of zoo models', default: '0' } as const;
const CARD_OPTION = {
  type: 'string', value: 'FILE', description: 'model card to use (default: NAME.card.json beside NAME.onnx, if there)',
} as const;
const DIM_OPTION = {
  type: 'string', multiple: true, value: 'NAME=V',
  description: 'value of a symbolic dim of the model (repeatable); only the batch, the first dim of an input, defaults to 1',
} as const;


/** A bar on stderr for work that reports (done, total). */
const progressCallback = (io: Io, label: string, format?: (n: number) => string) => commonProgress({ write: io.stderr, isTTY: io.isTTY }, label, format);

const print = (io: Io, args: CommandArgs, data: unknown, text: () => string) =>
  io.stdout(args.values.json ? `${JSON.stringify(data, null, 2)}\n` : text());

const gen: Command = {
  path: ['model', 'gen'],
  summary: `generate a zoo model with deterministic synthetic weights (${ZOO_MODELS.join(', ')})`,
  usage: 'NAME',
  positionals: { min: 1, max: 1 },
  options: {
    out: { type: 'string', value: 'DIR', description: 'output directory (created if missing, said on stderr)', default: '.' },
    seed: SEED_OPTION,
    json: JSON_OPTION,
  },
  details: 'Writes DIR/NAME.onnx (ONNX opset 17) and DIR/NAME.weights (external data).',
  async run(args, io) {
    const [name] = args.positionals;
    const out = stringOption(args, 'out') ?? '.';
    if (!isZooModel(name)) throw unknownZooModel(name);
    prepareOutDir(io, out);
    // Generated beside the output, then moved into place: a Ctrl-C leaves no half-written weights behind.
    const staging = join(out, `.${name}.partial-${process.pid}`);
    mkdirSync(staging, { recursive: true });
    const interrupt = onInterrupt(io);
    const progress = progressCallback(io, `generating ${name}`, formatCount);
    try {
      const made = await generateModel(name, staging, {
        seed: intOption(args, 'seed', 0),
        onProgress: (done, total) => {
          if (interrupt.signal.aborted) throw new DynasplitError(ErrorCodes.CLOSED, 'interrupted');
          progress(done, total);
        },
      });
      const model = { ...made, modelPath: join(out, basename(made.modelPath)), weightsPath: join(out, basename(made.weightsPath)) };
      renameSync(made.weightsPath, model.weightsPath);
      renameSync(made.modelPath, model.modelPath);
      print(io, args, model, () => `${model.modelPath}\n${model.weightsPath}\n${formatCount(model.params)} parameters\n`);
      return 0;
    } catch (err) {
      if (!interrupt.signal.aborted) throw err;
      io.stderr(interruptedLine([]));
      return INTERRUPTED_EXIT;
    } finally {
      interrupt.dispose();
      rmSync(staging, { recursive: true, force: true });
    }
  },
};

const inspect: Command = {
  path: ['model', 'inspect'],
  summary: 'list the single-tensor cut points of an ONNX model with sizes, FLOPs and weight bytes',
  usage: 'FILE|NAME',
  positionals: { min: 1, max: 1 },
  options: {
    dim: DIM_OPTION,
    card: CARD_OPTION,
    seed: SEED_OPTION,
    json: JSON_OPTION,
  },
  details: 'Sizes are per sample (the batch dim taken as 1 unless given). Shapes come from the file, or from one run on a ' +
    'zero input for those it does not declare. Any other open dim of an input must be given with --dim.',
  async run(args, io) {
    const path = await resolve(args, io);
    const card = cardFor(path, args);
    const report = await inspectModel(path, { dims: card.card.dims });
    const fit = cardFit(card, report);
    // The input side stands on its own: a default card that does not fit the outputs still reads the image input right.
    const image = ((): ImageInput | undefined => {
      try {
        return imageInputOf(card, report.inputs);
      } catch {
        return undefined;
      }
    })();
    print(io, args, { ...report, card, ...(fit ? { cardDoesNotFit: fit } : {}) }, () =>
      `${inspectText(report)}\n${cardText(card, image)}\n${fit ? `the default card does not fit this model: ${fit}\n` : ''}`);
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
    out: { type: 'string', value: 'DIR', description: 'output directory for head.onnx and tail.onnx (created if missing, said on stderr)', default: '.' },
    dim: { ...DIM_OPTION, description: 'fix a symbolic dim in the written parts (repeatable; default: the card\'s dims)' },
    card: CARD_OPTION,
    seed: SEED_OPTION,
    json: JSON_OPTION,
  },
  async run(args, io) {
    const cut = stringOption(args, 'at');
    if (!cut) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'missing --at CUT (see: dynasplit model inspect FILE)');
    const path = await resolve(args, io);
    const out = stringOption(args, 'out') ?? '.';
    const { dims } = cardFor(path, args).card;
    // The cut tensor's rank, for parts whose file declares no shape there (ONNX's checker wants one);
    // unknown where the model cannot be inspected as it is (an open dim): the parts then go without.
    const inspection = await inspectModel(path, { dims }).catch(() => undefined);
    const cutRank = inspection && [...inspection.cutPoints, ...inspection.nonFloatCutPoints].find((c) => c.name === cut)?.shape.length;
    // A cut the inspection does not know is refused before the output directory is made.
    if (inspection && cutRank === undefined && cut !== 'input' && cut !== 'output') {
      const valid = ['input', ...[...inspection.cutPoints, ...inspection.nonFloatCutPoints].map((c) => c.name), 'output'];
      throw new DynasplitError(ErrorCodes.UNKNOWN_CUT, `${path}: '${cut}' is not a single-tensor cut point; valid cuts: ${valid.join(', ')}`, { details: { file: path, cut } });
    }
    const started = performance.now();
    prepareOutDir(io, out);
    const files = splitModelFile(path, cut, out, { dims, cutRank, inputShapes: inspection && shapesOf(inspection.inputs) });
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
    dim: DIM_OPTION,
    card: CARD_OPTION,
    seed: SEED_OPTION,
    json: JSON_OPTION,
  },
  details: 'Every output of every split is compared with the full model relative to the output\'s own scale ' +
    '(its largest magnitude). Exits 1 when a split disagrees anywhere, or when an output is too small or not finite to judge.',
  async run(args, io) {
    const path = await resolve(args, io);
    const report = await verifyModel(path, {
      inputs: intOption(args, 'inputs', 8) || 1,
      threads: intOption(args, 'threads', 0),
      dims: cardFor(path, args).card.dims,
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

/** The model's card (beside it, or --card), its dims overridden by --dim. */
function cardFor(path: string, args: CommandArgs): LoadedCard {
  return loadModelCard(path, { path: stringOption(args, 'card'), dims: parseDimArgs(args.values.dim) });
}

/** Why the default card does not fit the model; a card file that does not fit is an error. */
function cardFit(card: LoadedCard, report: ModelInspection): string | undefined {
  try {
    checkCard(card, report);
    return undefined;
  } catch (err) {
    if (card.source !== undefined) throw err;
    return (err as Error).message;
  }
}

/** The card as text; `image`: the image input it gives the model, if any (a model without one takes tensors). */
function cardText({ card, source }: LoadedCard, image: ImageInput | undefined): string {
  const i = card.input;
  const size = (s: number | readonly number[] | undefined) => (s === undefined ? 'model size' : Array.isArray(s) ? s.join('x') : String(s));
  const output = card.output.kind === 'raw' ? 'raw: every output as it is'
    : `classification: top-${card.output.topK}${card.output.labels ? ` labelled by ${card.output.labels}` : ''}`;
  const p = image?.preprocess;
  const input = p === undefined ? 'tensors only (the model takes no RGB or grayscale image, and the card describes none)'
    : `resize ${i.resize === undefined ? 'to cover the crop' : size(i.resize)} (${i.interpolation ?? 'bilinear'}), ` +
      `crop ${size(i.crop)}, ${i.layout} ${p.channels === 1 ? 'grayscale' : i.colorOrder}, scale ${i.scale.toPrecision(4)}, mean [${p.mean?.join(', ')}], std [${p.std?.join(', ')}]`;
  return `card: ${source ?? '(none: the default card)'}; input: ${input}; output: ${output}`;
}

function inspectText(r: ModelInspection): string {
  const row = (c: CutPointInfo) => [c.name, c.tensors.map((t) => `[${t.shape.join(',')}]`).join(' '), c.dtype, formatBytes(c.bytesPerSample),
    (c.flopsBefore / 1e9).toFixed(3), (c.flopsAfter / 1e9).toFixed(3), formatBytes(c.paramBytesBefore), formatBytes(c.paramBytesAfter)];
  const tensor = (t: TensorDesc) => `${t.name} ${t.dtype}[${t.shape.join(',')}]`;
  return [
    `${r.file}: ${formatCount(r.params)} parameters (${formatBytes(r.paramBytes)}), ${(r.flops / 1e9).toFixed(2)} GFLOPs per sample, ` +
      `${r.cutPoints.length} cut points (shapes ${r.shapes})` +
      (r.nonFloatCutPoints.length > 0 ? `, and ${r.nonFloatCutPoints.length} whose tensor is not float32 (model split takes them, the pipeline does not)` : ''),
    `inputs: ${r.inputs.map(tensor).join(', ')}`,
    `outputs: ${r.outputs.map(tensor).join(', ')}`,
    ...(r.defaultedBatch.length > 0 ? [`batch dim ${r.defaultedBatch.join(', ')} taken as 1: sizes are per sample`] : []),
    ...(r.noCutsReason ? [r.noCutsReason] : []),
    table(['cut', 'shape', 'dtype', 'bytes', 'GFLOPs before', 'GFLOPs after', 'weights before', 'weights after'],
      [row(r.input), ...r.cutPoints.map(row), row(r.output)]),
    ...(r.nonFloatCutPoints.length > 0 ? ['not float32, so not for the pipeline (it sends float32 tensors): ' +
      r.nonFloatCutPoints.map((c) => `${c.name} ${c.dtype}[${c.shape.join(',')}]`).join(', ')] : []),
  ].join('\n');
}

function verifyText(r: VerifyReport): string {
  const codecs = r.cuts.find((c) => c.codecs.length > 0)?.codecs.map((c) => c.codec) ?? [];
  // A cut whose tensor is not float32: no codec applies, and the pipeline does not split there.
  const codecCells = (c: VerifyReport['cuts'][number]) => (c.codecs.length > 0
    ? c.codecs.map((k) => `${k.top1Agreement === null ? 'n/a' : `${(k.top1Agreement * 100).toFixed(0)}%`} ${k.relL2.toExponential(1)}`)
    : codecs.map(() => `n/a (${c.dtype})`));
  const rows = r.cuts.map((c) => [c.cut, c.fp32MaxRelErr.toExponential(1), c.fp32Ok ? 'ok' : c.outputs.find((o) => o.verdict !== 'ok')!.verdict.toUpperCase(),
    ...codecCells(c)]);
  const halves = r.cuts.filter((c) => c.dtype === 'float16');
  const others = r.cuts.filter((c) => c.codecs.length === 0);
  const verdict = r.ok ? 'all splits agree with the full model'
    : r.unjudged.length > 0 ? `NOT VERIFIED: output ${r.unjudged.join(', ')} too small or not finite to judge on these inputs`
    : 'SOME SPLITS DISAGREE WITH THE FULL MODEL';
  const floors = [...new Map(r.cuts.flatMap((c) => c.outputs.filter((o) => o.noiseFloor > 0).map((o) => [o.name, o.noiseFloor] as const)))];
  return [
    `${r.model}: ${r.cuts.length} cuts x ${r.inputs} inputs; fp32 tolerance ${r.tolerance} relative to each output's largest magnitude`,
    ...(floors.length > 0 ? [`  or within ${NOISE_FLOOR_MULTIPLE}x the full model's own rounding between onnxruntime's optimisation levels: ` +
      floors.map(([name, f]) => `${name} ${f.toExponential(1)}`).join(', ')] : []),
    ...(halves.length > 0 ? [`  ${halves.map((c) => c.cut).join(', ')}: float16, judged to ${halves[0].tolerance} (the split rounds to binary16 there; ` +
      'onnxruntime may leave that rounding out of the whole model)'] : []),
    `per codec: top-1 agreement with the full model, mean relative L2 error of the cut tensor`,
    ...(others.length > 0 ? [`n/a: the tensor there is not float32; model split takes the cut, the pipeline does not (it sends float32 tensors)`] : []),
    table(['cut', 'fp32 max rel err', 'fp32', ...codecs], rows),
    verdict,
    '',
  ].join('\n');
}
