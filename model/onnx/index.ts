export { decodeModel, encodeModel, encodeTensor, decodeTensor } from './proto.ts';
export type {
  ModelProto, GraphProto, NodeProto, TensorProto, AttributeProto, ValueInfoProto, TypeProto, Dimension,
  OperatorSetId, StringEntry,
} from './proto.ts';
export { DataType, dtypeName, dtypeBytes, dataTypeFromName } from './dtypes.ts';
export { loadModelFile, refuseDirectory, writeModelFile, externalRef, tensorByteSize, linkExternalData } from './model-file.ts';
export type { ModelFile, ExternalRef } from './model-file.ts';
