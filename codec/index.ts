/**
 * Front door of the tensor codecs: pure functions between float32 tensors and the wire `Tensor`
 * message (schemas/tensor.proto). Wire format and error figures: docs/codecs.md.
 */
export {
  CODEC_NAMES,
  codecFromName,
  codecName,
  decodeTensor,
  encodedDataBytes,
  encodeTensor,
} from './codecs.ts';
export { decodeTensorBytes, encodeBufferBytes, encodeTensorBytes } from './wire.ts';
export type { EncodeOptions } from './wire.ts';
export type { CodecName, DecodeOptions, FloatTensor } from './codecs.ts';
export { BufferPool, DEFAULT_POOL_BUFFERS, DEFAULT_POOL_BYTES, sizeClass } from './buffer-pool.ts';
export type { BufferPoolOptions, BufferPoolStats, Float32Source } from './buffer-pool.ts';
export { tensorError } from './error.ts';
export type { TensorErrorStats } from './error.ts';
export { decodeFp16, encodeFp16, floatToHalf, halfToFloat } from './fp16.ts';
export {
  channelBlocks,
  dequantizeInt8Blocks,
  dequantizeUint8,
  firstNonFinite,
  quantizeInt8Blocks,
  quantizeUint8,
  tokenBlocks,
} from './quantize.ts';
export type { Int8Quantized, Uint8Params, Uint8Quantized } from './quantize.ts';
export { MAX_TENSOR_ELEMENTS } from './validate.ts';
export { codecKernels, useCodecKernels } from './simd/select.ts';
export type { CodecKernels } from './simd/select.ts';
