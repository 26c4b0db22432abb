/**
 * Reading and writing `.onnx` files together with their external data (ONNX IR: "External Tensor
 * Data": `location` is relative to the model's directory; `offset`/`length` are decimal strings).
 */
import { existsSync, linkSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { DynasplitError, ErrorCodes } from '../../common/index.ts';
import { dtypeBytes } from './dtypes.ts';
import { decodeModel, encodeModel, type ModelProto, type TensorProto } from './proto.ts';

export interface ModelFile {
  /** Path of the .onnx file as given. */
  path: string;
  /** Directory external-data locations are relative to. */
  dir: string;
  model: ModelProto;
}

export interface ExternalRef { location: string; offset: number; length: number | undefined }

export function externalRef(tensor: TensorProto): ExternalRef | undefined {
  if (tensor.data_location !== 1 && !(tensor.external_data?.length)) return undefined;
  const entry = (key: string) => tensor.external_data?.find((e) => e.key === key)?.value;
  const location = entry('location');
  if (location === undefined) return undefined;
  const length = entry('length');
  return { location, offset: Number(entry('offset') ?? 0), length: length === undefined ? undefined : Number(length) };
}

/** Bytes of a tensor's data, wherever it is stored. */
export function tensorByteSize(tensor: TensorProto): number {
  const ref = externalRef(tensor);
  if (ref?.length !== undefined) return ref.length;
  const elements = tensor.dims.reduce((a, b) => a * b, 1);
  return elements * dtypeBytes(tensor.data_type);
}

export function loadModelFile(path: string): ModelFile {
  if (!existsSync(path)) {
    throw new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `model file not found: ${path}`, { details: { file: path } });
  }
  refuseDirectory(path);
  const model = decodeModel(readFileSync(path), path);
  const file = { path, dir: dirname(path), model };
  checkExternalData(file);
  return file;
}

/** A directory where a model file is expected: one coded line, not EISDIR. */
export function refuseDirectory(path: string): void {
  if (statSync(path).isDirectory()) {
    throw new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `${path} is a directory, not an .onnx model file; give the file in it`, { details: { file: path } });
  }
}

/** Every external initializer must name a file inside the model's directory that is long enough. */
function checkExternalData({ path, dir, model }: ModelFile): void {
  const sizes = new Map<string, number>();
  for (const tensor of model.graph.initializer) {
    const ref = externalRef(tensor);
    if (!ref) continue;
    const detail = { file: path, tensor: tensor.name, location: ref.location };
    if (isAbsolute(ref.location) || normalize(ref.location).split(sep).includes('..')) {
      throw new DynasplitError(ErrorCodes.EXTERNAL_DATA,
        `${path}: initializer '${tensor.name}' points outside the model's directory (${ref.location})`, { details: detail });
    }
    let size = sizes.get(ref.location);
    if (size === undefined) {
      const full = join(dir, ref.location);
      if (!existsSync(full)) {
        throw new DynasplitError(ErrorCodes.EXTERNAL_DATA,
          `${path}: external data file '${ref.location}' of initializer '${tensor.name}' is missing (looked for ${full})`,
          { details: detail });
      }
      size = statSync(full).size;
      sizes.set(ref.location, size);
    }
    const end = ref.offset + tensorByteSize(tensor);
    if (end > size) {
      throw new DynasplitError(ErrorCodes.EXTERNAL_DATA,
        `${path}: initializer '${tensor.name}' needs bytes ${ref.offset}..${end} of '${ref.location}', which has ${size}`,
        { details: detail });
    }
  }
}

export function writeModelFile(path: string, model: ModelProto): void {
  writeFileSync(path, encodeModel(model));
}

/**
 * Makes the external-data files of `model` (stored relative to `fromDir`) visible from `toDir`:
 * hard links, or symlinks across file systems, never copies. onnxruntime resolves external data
 * relative to the model file and refuses locations that leave its directory, so a model written into
 * another directory needs its weights beside it. Returns the linked paths.
 */
export function linkExternalData(model: ModelProto, fromDir: string, toDir: string): string[] {
  const locations = new Set<string>();
  for (const t of model.graph.initializer) {
    const ref = externalRef(t);
    if (ref) locations.add(ref.location);
  }
  const linked: string[] = [];
  for (const location of locations) {
    const source = resolve(fromDir, location);
    const target = resolve(toDir, location);
    linked.push(target);
    if (sameFile(source, target)) continue;
    mkdirSync(dirname(target), { recursive: true });
    rmSync(target, { force: true });
    try {
      linkSync(source, target);
    } catch {
      symlinkSync(realpathSync(source), target);
    }
  }
  return linked;
}

function sameFile(a: string, b: string): boolean {
  if (!existsSync(b)) return false;
  const sa = statSync(a);
  const sb = statSync(b);
  return sa.ino === sb.ino && sa.dev === sb.dev;
}
