/**
 * The model zoo: architecture-faithful ONNX models (opset 17) with deterministic synthetic weights,
 * written as `<name>.onnx` plus an external-data file `<name>.weights` in the same directory.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { closest, DynasplitError, ErrorCodes } from '../../common/index.ts';
import { encodeModel } from '../onnx/index.ts';
import type { GraphBuilder } from './graph-builder.ts';
import { buildVgg, VGG16, VGG16_64, VGG16_TINY } from './vgg.ts';
import { buildVit, VIT_B16, VIT_TINY } from './vit.ts';
import { layoutWeights, writeWeights } from './weights.ts';

export const ZOO_MODELS = ['vgg16', 'vgg16-64', 'vgg16-tiny', 'vit-b16', 'vit-tiny'] as const;
export type ZooModelName = (typeof ZOO_MODELS)[number];

const ARCHITECTURES: Record<ZooModelName, () => GraphBuilder> = {
  'vgg16': () => buildVgg(VGG16),
  'vgg16-64': () => buildVgg(VGG16_64),
  'vgg16-tiny': () => buildVgg(VGG16_TINY),
  'vit-b16': () => buildVit(VIT_B16),
  'vit-tiny': () => buildVit(VIT_TINY),
};

export function isZooModel(name: string): name is ZooModelName {
  return (ZOO_MODELS as readonly string[]).includes(name);
}

export interface GenerateOptions {
  /** Weight seed, a non-negative safe integer; default 0. Same seed, byte-identical files. */
  seed?: number;
  /** Called as parameters are written (several times per large tensor). */
  onProgress?: (doneParams: number, totalParams: number) => void;
}

export interface GeneratedModel {
  name: ZooModelName;
  modelPath: string;
  weightsPath: string;
  /** Elements of the float32 weight tensors (see graph-builder.ts for what counts). */
  params: number;
  /** Shape of one sample with the batch dimension set to 1, e.g. [1, 3, 224, 224]. */
  inputShape: number[];
}

/**
 * Writes `${outDir}/${name}.onnx` and `${outDir}/${name}.weights` (creating outDir if needed) and
 * returns their paths. Throws DYNASPLIT_ERR_UNKNOWN_MODEL for a name not in ZOO_MODELS.
 */
export async function generateModel(name: string, outDir: string, options: GenerateOptions = {}): Promise<GeneratedModel> {
  const graph = describe(name);
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `zoo seed must be a non-negative integer, got ${seed}`, { details: { seed } });
  }
  await mkdir(outDir, { recursive: true });
  const modelPath = join(outDir, `${name}.onnx`);
  const weightsPath = join(outDir, `${name}.weights`);
  const layout = layoutWeights(graph.params);
  await writeWeights(weightsPath, graph.params, layout, seed, options.onProgress);
  const model = graph.build({
    weightsLocation: basename(weightsPath),
    offsets: layout.offsets,
    metadata: { 'dynasplit.zoo.model': name, 'dynasplit.zoo.seed': String(seed) },
  });
  await writeFile(modelPath, encodeModel(model));
  return {
    name: name as ZooModelName,
    modelPath,
    weightsPath,
    params: graph.paramCount(),
    inputShape: graph.shape('input').map((d) => (d === 'N' ? 1 : d)),
  };
}

/** Parameter count from the architecture description alone (no weights are generated). */
export function zooParamCount(name: ZooModelName): number {
  return describe(name).paramCount();
}

/**
 * DYNASPLIT_ERR_UNKNOWN_MODEL for a name that is not in the zoo: the zoo's names and the one it
 * resembles, if any; `orFile` where a path to an .onnx file would have done too.
 */
export function unknownZooModel(name: string, orFile = false): DynasplitError {
  const near = closest(name, ZOO_MODELS);
  return new DynasplitError(ErrorCodes.UNKNOWN_MODEL,
    `unknown zoo model '${name}'${near ? ` (did you mean '${near}'?)` : ''}; zoo models: ${ZOO_MODELS.join(', ')}` +
      `${orFile ? '; or give the path of an .onnx file' : ''}`,
    { details: { model: name, valid: [...ZOO_MODELS], ...(near ? { closest: near } : {}) } });
}

function describe(name: string): GraphBuilder {
  if (!isZooModel(name)) throw unknownZooModel(name);
  return ARCHITECTURES[name]();
}
