/** Model outputs as the wire carries them: float32 (schemas/tensor.proto), whatever the model's type. */
import type * as ort from 'onnxruntime-node';
import type { FloatTensor } from '../codec/index.ts';

/** The tensor as float32 values under `name` (int64 and other numeric outputs converted, value by value). */
export function floatTensor(name: string, t: ort.Tensor): FloatTensor {
  const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number | bigint>, Number);
  return { name, shape: [...t.dims], data };
}
