/**
 * Symbolic dimensions. A model may leave dims open (`N`, `height`, or `unk__12` from ONNX shape
 * inference); dynasplit never turns an open dim into a plausible number. Only the batch, the first
 * dim of a graph input, defaults to 1 (sizes are per sample); every other symbolic dim of an input
 * must be given (`--dim NAME=V` or the model card's `dims`) or the model is refused with the dim's
 * name. Open dims of intermediate tensors are then measured by running the model once.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import type { ModelProto, ValueInfoProto } from './onnx/index.ts';
import type { Dim, TensorInfo } from './tensor-info.ts';

/** Value of each symbolic dim, and which batch dims took the default of 1. */
export interface DimBindings {
  values: Record<string, number>;
  /** Concrete shape of each graph input. */
  inputShapes: Map<string, number[]>;
  /** Batch dims (first dim of a graph input) that were not given and default to 1. */
  defaultedBatch: string[];
}

/** Batch size a batch dim takes when not given: sizes are reported per sample. */
export const DEFAULT_BATCH = 1;

/**
 * Binds every symbolic dim of the graph inputs: given values first, the batch dim (first dim of
 * each input) to 1, and refuses any other open dim, naming it and the input that has it.
 */
export function bindInputDims(
  file: string,
  inputs: readonly string[],
  infos: ReadonlyMap<string, TensorInfo>,
  given: Readonly<Record<string, number>> = {},
): DimBindings {
  const values: Record<string, number> = { ...given };
  const defaultedBatch: string[] = [];
  for (const name of inputs) {
    const first = infos.get(name)?.shape?.[0];
    if (typeof first === 'string' && first !== '?' && values[first] === undefined) {
      values[first] = DEFAULT_BATCH;
      defaultedBatch.push(first);
    }
  }
  const inputShapes = new Map<string, number[]>();
  for (const name of inputs) {
    const shape = infos.get(name)?.shape;
    if (!shape) {
      throw new DynasplitError(ErrorCodes.UNSUPPORTED_MODEL, `${file}: input '${name}' declares no shape`, {
        details: { file, tensor: name },
      });
    }
    // An unnamed first dim is a batch too; an unnamed dim elsewhere cannot be given a value.
    const concrete = shape.map((d, i) => (d === '?' && i === 0 ? DEFAULT_BATCH : typeof d === 'number' ? d : values[d]));
    if (shape[0] === '?') defaultedBatch.push(`${name}[0]`);
    const open = concrete.findIndex((v) => v === undefined);
    if (open >= 0) throw unresolvedDim(file, name, String(shape[open]), shape);
    inputShapes.set(name, concrete as number[]);
  }
  return { values, inputShapes, defaultedBatch };
}

function unresolvedDim(file: string, tensor: string, dim: string, shape: Dim[]): DynasplitError {
  const which = dim === '?' ? 'an unnamed dim' : `dim '${dim}'`;
  const how = dim === '?' ? 'name it in the model, or export it with a fixed size' : `give it with --dim ${dim}=V or in the model card's "dims"`;
  return new DynasplitError(ErrorCodes.UNRESOLVED_DIM,
    `${file}: input '${tensor}' [${shape.join(', ')}] has ${which} with no value; ${how}`,
    { details: { file, tensor, dim } });
}

/** The concrete shape when every dim is known, else undefined (the shape must be measured). */
export function boundShape(shape: readonly Dim[] | undefined, values: Readonly<Record<string, number>>): number[] | undefined {
  if (!shape) return undefined;
  const out: number[] = [];
  for (const d of shape) {
    const v = typeof d === 'number' ? d : values[d];
    if (v === undefined) return undefined;
    out.push(v);
  }
  return out;
}

/** Parses `NAME=V` entries (a `--dim` option, repeatable) into dim values; V is an integer >= 1. */
export function parseDimArgs(raw: unknown): Record<string, number> {
  const dims: Record<string, number> = {};
  const entries = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  for (const entry of entries) {
    const text = String(entry);
    const eq = text.lastIndexOf('=');
    const name = text.slice(0, eq);
    const value = text.slice(eq + 1);
    if (eq <= 0 || !/^\d+$/.test(value) || Number(value) < 1) {
      throw new DynasplitError(ErrorCodes.BAD_ARGS, `--dim takes NAME=V with V an integer >= 1, got '${text}'`, { details: { dim: text } });
    }
    dims[name] = Number(value);
  }
  return dims;
}

/**
 * The model with the given dims fixed: every dim_param named in `values` becomes that dim_value in
 * the graph's inputs, outputs and value_info (e.g. a part written for one camera resolution). Pure.
 */
export function fixDims(model: ModelProto, values: Readonly<Record<string, number>>): ModelProto {
  const fix = (v: ValueInfoProto): ValueInfoProto => {
    const t = v.type?.tensor_type;
    if (!t?.shape) return v;
    const dim = t.shape.dim.map((d) => (d.dim_param && values[d.dim_param] !== undefined ? { dim_value: values[d.dim_param] } : d));
    return { ...v, type: { ...v.type, tensor_type: { ...t, shape: { dim } } } };
  };
  const g = model.graph;
  return { ...model, graph: { ...g, input: g.input.map(fix), output: g.output.map(fix), value_info: g.value_info.map(fix) } };
}
