/** ONNX element types (TensorProto.DataType) and their names in onnxruntime's JavaScript API. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const;

interface DTypeInfo { name: string; bytes: number }

const INFO: Record<number, DTypeInfo> = {
  1: { name: 'float32', bytes: 4 },
  2: { name: 'uint8', bytes: 1 },
  3: { name: 'int8', bytes: 1 },
  4: { name: 'uint16', bytes: 2 },
  5: { name: 'int16', bytes: 2 },
  6: { name: 'int32', bytes: 4 },
  7: { name: 'int64', bytes: 8 },
  8: { name: 'string', bytes: 0 },
  9: { name: 'bool', bytes: 1 },
  10: { name: 'float16', bytes: 2 },
  11: { name: 'float64', bytes: 8 },
  12: { name: 'uint32', bytes: 4 },
  13: { name: 'uint64', bytes: 8 },
  16: { name: 'bfloat16', bytes: 2 },
};

/** onnxruntime-node's name for an ONNX element type ('float32', 'int64', ...). */
export function dtypeName(dataType: number): string {
  return INFO[dataType]?.name ?? `onnx-type-${dataType}`;
}

/** Bytes per element; 0 for strings and unknown types. */
export function dtypeBytes(dataType: number): number {
  return INFO[dataType]?.bytes ?? 0;
}

export function dataTypeFromName(name: string): number | undefined {
  for (const [code, info] of Object.entries(INFO)) if (info.name === name) return Number(code);
  return undefined;
}
