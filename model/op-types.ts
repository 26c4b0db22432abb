/**
 * The element type of each operator output, by the operator's own type rule (ONNX operator specs,
 * "Type Constraints"), not by a guess from its first input: `Where` takes a bool condition first,
 * `Shape` of a float tensor is int64, `Cast` makes its `to`, comparisons make bool, and so on.
 * Returns undefined when the rule needs a type that is not known (the caller then leaves the tensor
 * undeclared rather than declaring a wrong type).
 */
import { DataType, type NodeProto } from './onnx/index.ts';

type TypeOf = (tensor: string) => number | undefined;
type Rule = (node: NodeProto, k: number, typeOf: TypeOf) => number | undefined;

const attr = (node: NodeProto, name: string) => node.attribute?.find((a) => a.name === name);
const fixed = (dtype: number): Rule => () => dtype;
/** The type of input `i`. */
const input = (i: number): Rule => (node, _k, typeOf) => (node.input[i] ? typeOf(node.input[i]) : undefined);
/** A `dtype`/`to` attribute, else the fallback rule. */
const attrOr = (name: string, fallback: Rule): Rule => (node, k, typeOf) => attr(node, name)?.i || fallback(node, k, typeOf);
/** Output 0 follows `first`; outputs 1.. follow `rest`. */
const split2 = (first: Rule, rest: Rule): Rule => (node, k, typeOf) => (k === 0 ? first : rest)(node, k, typeOf);

const INT64 = fixed(DataType.INT64);
const BOOL = fixed(DataType.BOOL);
const FLOAT = fixed(DataType.FLOAT);

const RULES: Record<string, Rule> = {
  Shape: INT64, Size: INT64, NonZero: INT64, ArgMax: INT64, ArgMin: INT64, NonMaxSuppression: INT64,
  Equal: BOOL, Less: BOOL, LessOrEqual: BOOL, Greater: BOOL, GreaterOrEqual: BOOL,
  And: BOOL, Or: BOOL, Xor: BOOL, Not: BOOL, IsNaN: BOOL, IsInf: BOOL,
  // Where(condition: bool, X, Y): the type of X and Y.
  Where: (node, k, typeOf) => input(1)(node, k, typeOf) ?? input(2)(node, k, typeOf),
  Cast: (node) => attr(node, 'to')?.i,
  CastLike: input(1),
  Constant: (node) => {
    const a = node.attribute?.find((x) => x.name.startsWith('value'));
    if (!a) return undefined;
    if (a.name === 'value' || a.name === 'sparse_value') return a.t?.data_type;
    if (a.name === 'value_int' || a.name === 'value_ints') return DataType.INT64;
    if (a.name === 'value_float' || a.name === 'value_floats') return DataType.FLOAT;
    return a.name.startsWith('value_string') ? DataType.STRING : undefined;
  },
  ConstantOfShape: (node) => attr(node, 'value')?.t?.data_type ?? DataType.FLOAT,
  EyeLike: attrOr('dtype', input(0)),
  RandomNormal: attrOr('dtype', FLOAT), RandomUniform: attrOr('dtype', FLOAT),
  RandomNormalLike: attrOr('dtype', input(0)), RandomUniformLike: attrOr('dtype', input(0)),
  Bernoulli: attrOr('dtype', input(0)),
  Multinomial: attrOr('dtype', fixed(DataType.INT32)),
  // Range(start, limit, delta): all three share the output's type.
  Range: input(0),
  OneHot: input(2),
  TopK: split2(input(0), INT64),
  MaxPool: split2(input(0), INT64),
  Unique: split2(input(0), INT64),
  Dropout: split2(input(0), BOOL),
  // LayerNormalization's Mean and InvStdDev outputs are of stash_type (default float).
  LayerNormalization: split2(input(0), attrOr('stash_type', FLOAT)),
  QuantizeLinear: (node, k, typeOf) => input(2)(node, k, typeOf) ?? DataType.UINT8,
  DequantizeLinear: (node, k, typeOf) => (node.input[2] ? typeOf(node.input[1]) : undefined) ?? DataType.FLOAT,
  DynamicQuantizeLinear: (_node, k) => (k === 1 ? DataType.FLOAT : DataType.UINT8),
  MatMulInteger: fixed(DataType.INT32), ConvInteger: fixed(DataType.INT32),
  QLinearMatMul: input(7), QLinearConv: input(7),
  StringNormalizer: fixed(DataType.STRING),
};

/**
 * Operators whose inputs all share the output's type T (ONNX type constraints): any input whose
 * type is known gives it, e.g. Add(constant of unknown type, x).
 */
const SHARED_T = new Set(['Add', 'Sub', 'Mul', 'Div', 'Sum', 'Max', 'Min', 'Mean', 'Concat', 'MatMul', 'Gemm', 'PRelu', 'Clip']);

/** The rest: every output has the type of the first (non-empty) input. */
function sameAsFirst(node: NodeProto, typeOf: TypeOf): number | undefined {
  if (SHARED_T.has(node.op_type)) {
    for (const t of node.input) if (t !== '' && typeOf(t) !== undefined) return typeOf(t);
    return undefined;
  }
  const first = node.input.find((t) => t !== '');
  return first === undefined ? undefined : typeOf(first);
}

/** Element type of output `k` of `node`, given the types known so far. */
export function outputType(node: NodeProto, k: number, typeOf: TypeOf): number | undefined {
  if (node.domain && node.domain !== 'ai.onnx') return undefined;
  const rule = RULES[node.op_type];
  return rule ? rule(node, k, typeOf) : sameAsFirst(node, typeOf);
}
