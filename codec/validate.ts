/**
 * Shared checks for the codecs: coded errors that name the tensor, shape arithmetic with an upper
 * bound, and typed-array views over wire bytes.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';

/**
 * Most elements one tensor may have: 2^30 float32 values are 4 GiB, the largest typed array Node 20
 * can allocate (buffer.constants.MAX_LENGTH). Also keeps shape products exact in a double.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 30;

/** Largest value of a protobuf uint32 dimension. */
const MAX_DIM = 0xffffffff;

// Payloads are read and written through typed-array views, which use the host byte order, while the
// wire is little-endian (docs/codecs.md). Every platform dynasplit targets (x86-64, ARM64, ARMv7
// Linux) is little-endian; refuse to load elsewhere rather than corrupt tensors silently.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('dynasplit codecs need a little-endian host');
}

/** Index of the first NaN or +-Infinity in `data`, element by element; -1 when every value is finite. */
export function scanNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    // NaN - NaN and Infinity - Infinity are NaN; a finite v - v is 0.
    if (v - v !== 0) return i;
  }
  return -1;
}

/** A BAD_TENSOR error whose message and details name the tensor. */
export function badTensor(name: string, message: string, details: Record<string, unknown> = {}): DynasplitError {
  const label = name === '' ? '<unnamed>' : name;
  return new DynasplitError(ErrorCodes.BAD_TENSOR, `tensor "${label}": ${message}`, {
    details: { tensor: name, ...details },
  });
}

/** Element count of `shape` (1 for a scalar); throws BAD_TENSOR for a bad dimension or too many elements. */
export function elementCount(name: string, shape: readonly number[]): number {
  let count = 1;
  for (let i = 0; i < shape.length; i++) {
    const dim = shape[i];
    if (!Number.isInteger(dim) || dim < 0 || dim > MAX_DIM) {
      throw badTensor(name, `dimension ${i} is ${dim}; dimensions are integers in [0, 2^32)`, { shape });
    }
    count *= dim;
    // Checked on every step: the running product stays below 2^62, exact enough to compare.
    if (count > MAX_TENSOR_ELEMENTS) {
      throw badTensor(name, `shape [${shape.join(',')}] has more than ${MAX_TENSOR_ELEMENTS} elements`, { shape });
    }
  }
  return count;
}

/** Product of `shape[from..to)`; the caller has bounded the whole product with elementCount. */
export function product(shape: readonly number[], from = 0, to = shape.length): number {
  let p = 1;
  for (let i = from; i < to; i++) p *= shape[i];
  return p;
}

type ViewCtor<T> = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => T;

/**
 * Whether `bytes` start on a boundary of `size`-byte elements. Bytes decoded from protobuf sit
 * wherever the field landed in the message, so they are often unaligned, and a typed-array view
 * of them is then impossible (the decoder copies or converts them into its output instead).
 */
export function isAligned(bytes: Uint8Array, size: number): boolean {
  return bytes.byteOffset % size === 0;
}

/** Aligned `bytes` (see isAligned) seen as elements of `ctor`, without a copy. */
export function alignedView<T>(bytes: Uint8Array, ctor: ViewCtor<T> & { BYTES_PER_ELEMENT: number }): T {
  return new ctor(bytes.buffer, bytes.byteOffset, bytes.byteLength / ctor.BYTES_PER_ELEMENT);
}

/** The bytes of a typed array, as a view (no copy). */
export function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
