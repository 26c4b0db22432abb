/**
 * ONNX file codec: decodes `.onnx` bytes into plain objects (int64 as numbers, byte fields as
 * Buffers that view the input without copying) and encodes them back. Schema: onnx-subset.proto.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { DynasplitError, ErrorCodes } from '../../common/index.ts';

export interface OperatorSetId { domain?: string; version: number }
export interface StringEntry { key: string; value: string }

export interface TensorProto {
  name: string;
  dims: number[];
  data_type: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  double_data?: number[];
  uint64_data?: number[];
  string_data?: Uint8Array[];
  external_data?: StringEntry[];
  data_location?: number;
  doc_string?: string;
}

export interface AttributeProto {
  name: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  g?: Uint8Array;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  tensors?: TensorProto[];
  graphs?: Uint8Array[];
  doc_string?: string;
  ref_attr_name?: string;
}

export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  op_type: string;
  domain?: string;
  attribute?: AttributeProto[];
  doc_string?: string;
}

export interface Dimension { dim_value?: number; dim_param?: string; denotation?: string }
export interface TypeProto {
  tensor_type?: { elem_type: number; shape?: { dim: Dimension[] } };
  sequence_type?: Uint8Array;
  map_type?: Uint8Array;
  optional_type?: Uint8Array;
  sparse_tensor_type?: Uint8Array;
  denotation?: string;
}
export interface ValueInfoProto { name: string; type?: TypeProto; doc_string?: string }

export interface GraphProto {
  name?: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  value_info: ValueInfoProto[];
  doc_string?: string;
  quantization_annotation?: Uint8Array[];
  sparse_initializer?: Uint8Array[];
}

export interface ModelProto {
  ir_version: number;
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: number;
  doc_string?: string;
  graph: GraphProto;
  opset_import: OperatorSetId[];
  metadata_props?: StringEntry[];
  training_info?: Uint8Array[];
  functions?: Uint8Array[];
}

const schemaPath = new URL('./onnx-subset.proto', import.meta.url);
const root = protobuf.parse(readFileSync(schemaPath, 'utf8'), { keepCase: true }).root;
const ModelType = root.lookupType('onnx.ModelProto');
const TensorType = root.lookupType('onnx.TensorProto');

/** Decodes ONNX model bytes. `source` names the file in error messages. */
export function decodeModel(bytes: Uint8Array, source = '<buffer>'): ModelProto {
  let message: protobuf.Message;
  try {
    message = ModelType.decode(bytes);
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.BAD_MODEL, `${source} is not a valid ONNX model: ${(cause as Error).message}`, {
      cause,
      details: { file: source },
    });
  }
  const model = ModelType.toObject(message, { longs: Number, arrays: true, enums: Number }) as ModelProto;
  if (!model.graph || model.opset_import.length === 0) {
    throw new DynasplitError(ErrorCodes.BAD_MODEL, `${source} is not a valid ONNX model: it has no graph or no opset_import`, {
      details: { file: source },
    });
  }
  return model;
}

export function encodeModel(model: ModelProto): Uint8Array {
  return ModelType.encode(model as unknown as Record<string, unknown>).finish();
}

/** Encodes one TensorProto (used for the Constant nodes' `value` attribute and in tests). */
export function encodeTensor(tensor: TensorProto): Uint8Array {
  return TensorType.encode(tensor as unknown as Record<string, unknown>).finish();
}

export function decodeTensor(bytes: Uint8Array): TensorProto {
  return TensorType.toObject(TensorType.decode(bytes), { longs: Number, arrays: true }) as TensorProto;
}
