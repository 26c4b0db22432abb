/**
 * A bounded pool of Float32Array buffers for decoded tensors (pure; no I/O).
 *
 * A fresh multi-MB typed array costs more than converting a tensor into it: the pages are fresh
 * memory (a page fault each) and V8 runs major GCs as external memory grows; on the development
 * machine, allocating 800 KB and copying into it took 4-8x the CPU of the copy into a reused array
 * (docs/performance.md, "Codecs"). A node that decodes a tensor per request and is done with it
 * once its onnxruntime run resolves hands the buffer back here instead.
 *
 * Rules:
 *  - acquire(count) gives an array of at least `count` elements that nobody else holds: an idle one
 *    of the same size class, else a new one. Sizes are rounded up to one of 4 classes per power of
 *    two (at most 25% over), so tensors of nearly the same size share buffers.
 *  - release(view) takes back a buffer this pool handed out, through any view of it (a decoded
 *    tensor is a view of `count` elements). Anything else is ignored and release returns false: a
 *    foreign array, a second release of the same buffer, and a detached buffer (byteLength 0: a
 *    worker-thread session may have transferred it away).
 *  - Idle buffers are bounded by count and by bytes; beyond either, the least recently released are
 *    dropped (left to the GC), and a buffer larger than the byte bound is never kept.
 */

export interface BufferPoolOptions {
  /** Idle bytes kept at most; default 64 MiB. */
  maxBytes?: number;
  /** Idle buffers kept at most; default 16. */
  maxBuffers?: number;
}

/** What a decoder needs of a pool: an array of at least `count` elements. */
export interface Float32Source {
  acquire(count: number): Float32Array;
}

export interface BufferPoolStats {
  /** Buffers idle in the pool, and their bytes. */
  idle: number;
  idleBytes: number;
  /** Buffers handed out and not released. */
  out: number;
  /** acquire calls served by an idle buffer, and by a new one. */
  hits: number;
  misses: number;
}

export const DEFAULT_POOL_BYTES = 64 * 1024 * 1024;
export const DEFAULT_POOL_BUFFERS = 16;
/** Smallest class, in elements: below it the class steps would be finer than one element. */
const MIN_CLASS = 16;

/** The element count the pool allocates for `count`: rounded up to a quarter of its power of two. */
export function sizeClass(count: number): number {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`buffer pool: count ${count} is not a non-negative integer`);
  if (count <= MIN_CLASS) return MIN_CLASS;
  // 2^top <= count - 1 < 2^(top + 1); classes step by 2^(top - 2) up to 2^(top + 1).
  const top = Math.floor(Math.log2(count - 1));
  const step = 2 ** (top - 2);
  return Math.ceil(count / step) * step;
}

export class BufferPool implements Float32Source {
  readonly #maxBytes: number;
  readonly #maxBuffers: number;
  /** Idle buffers, least recently released first. */
  readonly #idle: Float32Array[] = [];
  #idleBytes = 0;
  /** Buffers handed out, by their ArrayBuffer (every view of one shares it). */
  readonly #out = new WeakMap<ArrayBufferLike, Float32Array>();
  #outCount = 0;
  #hits = 0;
  #misses = 0;

  constructor(options: BufferPoolOptions = {}) {
    this.#maxBytes = options.maxBytes ?? DEFAULT_POOL_BYTES;
    this.#maxBuffers = options.maxBuffers ?? DEFAULT_POOL_BUFFERS;
    if (!(this.#maxBytes >= 0) || !Number.isInteger(this.#maxBuffers) || this.#maxBuffers < 0) {
      throw new RangeError(`buffer pool: bounds must be >= 0 (maxBytes ${this.#maxBytes}, maxBuffers ${this.#maxBuffers})`);
    }
  }

  /** An array of at least `count` elements (its size class), held by the caller until released. */
  acquire(count: number): Float32Array {
    const size = sizeClass(count);
    // Most recently released first: its pages are the likeliest to be in cache.
    let buffer: Float32Array | undefined;
    for (let i = this.#idle.length - 1; i >= 0; i--) {
      if (this.#idle[i].length === size) {
        buffer = this.#idle[i];
        this.#idle.splice(i, 1);
        this.#idleBytes -= buffer.byteLength;
        break;
      }
    }
    if (buffer) this.#hits++;
    else {
      buffer = new Float32Array(size);
      this.#misses++;
    }
    this.#out.set(buffer.buffer, buffer);
    this.#outCount++;
    return buffer;
  }

  /**
   * Takes back the buffer `view` belongs to; true when it went back to the pool or was dropped by
   * the bounds, false when it was not this pool's to take (foreign, already released, detached).
   */
  release(view: ArrayBufferView): boolean {
    const buffer = this.#out.get(view.buffer);
    if (buffer === undefined) return false;
    this.#out.delete(view.buffer);
    this.#outCount--;
    if (buffer.byteLength === 0) return false; // detached: transferred to another thread
    if (buffer.byteLength > this.#maxBytes || this.#maxBuffers === 0) return true;
    this.#idle.push(buffer);
    this.#idleBytes += buffer.byteLength;
    while (this.#idle.length > this.#maxBuffers || this.#idleBytes > this.#maxBytes) {
      this.#idleBytes -= this.#idle.shift()!.byteLength;
    }
    return true;
  }

  stats(): BufferPoolStats {
    return { idle: this.#idle.length, idleBytes: this.#idleBytes, out: this.#outCount, hits: this.#hits, misses: this.#misses };
  }
}
