/**
 * Codec throughput: encode (float32 tensor -> protobuf bytes) and decode (bytes -> float32 tensor)
 * for every codec, in GB/s of float32 input bytes, next to a plain typed-array copy of the same
 * bytes measured in the same run (the floor any codec is compared against).
 * Sizes: a VGG16 early feature map [1,64,224,224] (12.8 MB) and a ViT-B/16 activation [1,197,768]
 * (605 KB). Median of several timed runs after warm-up; single-threaded. Times are this process's
 * CPU time (user + system), not wall time: on a shared machine wall time also counts the turns of
 * other processes, which favours short operations (a 1 ms copy fits in one time slice, a 20 ms
 * encode does not) and skews every ratio.
 * A second table times the same calls writing into reused memory, as a node does with a
 * BufferPool: encodeTensorBytes into one Uint8Array (`into`), decodeTensorBytes into an array
 * from a pool, released after each call; and the decode of the payload one byte off a 4-byte
 * boundary, which is where protobuf leaves it in ~3 of 4 received messages.
 * A third table times the conversion kernels alone, writing into preallocated arrays: allocating
 * fresh multi-MB buffers (page faults) costs as much as the conversion on some machines, and varies
 * from run to run far more than the arithmetic does.
 * fp16 and the int8 codecs have two sets of kernels, the WebAssembly SIMD ones (used where the
 * runtime has SIMD128) and the JavaScript ones (the fallback): both tables time each, in the same
 * run, next to the same copy. The SIMD figures include copying each chunk into the WebAssembly
 * memory and the result out (codec/simd/kernels.ts).
 * A fourth table times receiving a message that carries an fp32 tensor, laid out by the generated
 * code and by encodeMessage, in the same run (./receive.ts).
 */
import { cpus } from 'node:os';
import {
  BufferPool,
  CODEC_NAMES,
  channelBlocks,
  codecKernels,
  decodeFp16,
  decodeTensorBytes,
  dequantizeInt8Blocks,
  dequantizeUint8,
  encodeBufferBytes,
  encodeFp16,
  encodeTensorBytes,
  quantizeInt8Blocks,
  quantizeUint8,
  tokenBlocks,
  useCodecKernels,
  type CodecKernels,
  type CodecName,
  type FloatTensor,
} from '../codec/index.ts';
import { median } from '../common/index.ts';
import { benchReceive } from './receive.ts';

interface Case {
  label: string;
  shape: number[];
}

const CASES: Case[] = [
  { label: 'cnn [1,64,224,224]', shape: [1, 64, 224, 224] },
  { label: 'vit [1,197,768]', shape: [1, 197, 768] },
];

/** Timed runs per figure; the median is reported. */
const RUNS = 7;
/** Warm-up per figure: at least this many calls and this many ms. */
const WARMUP_CALLS = 50;
const WARMUP_MS = 300;
/** ms; each timed run repeats the operation until it has taken at least this long. */
const MIN_RUN_MS = 40;

/** The codecs' goal, as x a plain copy of the same bytes. */
const GOAL_X = 0.25;
/** Codecs with SIMD kernels (all but fp32, which has no kernel). */
const SIMD_CODECS: ReadonlySet<CodecName> = new Set(['fp16', 'int8', 'uint8', 'int8-channel', 'int8-token']);

export async function benchCodecs(): Promise<void> {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const selected = codecKernels();
  print(`Codec throughput, GB/s of float32 input (measured on this machine: ${cpu}, ${cpus().length} CPUs, Node ${process.version})`);
  print(`median of ${RUNS} runs of >= ${MIN_RUN_MS} ms after warm-up, CPU time of this process; "x copy" = time of copy (set) / time of the codec`);
  print(`kernels: simd = WebAssembly SIMD128 (copies into and out of its memory included), js = JavaScript; this runtime selects ${selected}\n`);
  const header = ['tensor', 'codec', 'kernels', 'wire MB', 'encode GB/s', 'x copy', 'decode GB/s', 'x copy'];
  const api: string[][] = [header];
  const pooled: string[][] = [[...header, 'decode +1 GB/s', 'x copy']];
  const kernels: string[][] = [header];
  const goal: PooledRatios[] = [];
  try {
    for (const c of CASES) {
      const tensor = makeTensor(c.shape);
      const bytes = tensor.data.byteLength;
      const copy = measureCopy(tensor.data);
      const allocCopy = measure(() => tensor.data.slice());
      const copyRow = [c.label, 'copy (set)', '', mb(bytes), gbps(bytes, copy), '1.00', gbps(bytes, copy), '1.00'];
      api.push(copyRow, [c.label, 'alloc + copy', '', mb(bytes), gbps(bytes, allocCopy), ratio(copy, allocCopy), gbps(bytes, allocCopy), ratio(copy, allocCopy)]);
      pooled.push([...copyRow, gbps(bytes, copy), '1.00']);
      kernels.push(copyRow);
      for (const codec of CODEC_NAMES) {
        for (const kind of kindsOf(codec, selected)) {
          useCodecKernels(kind);
          api.push(benchCodec(c.label, tensor, codec, kind, copy));
          const { row, ratios } = benchPooled(c.label, tensor, codec, kind, copy);
          pooled.push(row);
          goal.push(ratios);
          if (codec !== 'fp32') kernels.push(benchKernel(c.label, tensor, codec, kind, copy));
        }
      }
      // Let the event loop breathe between cases (and keep the function honestly async).
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    useCodecKernels(selected);
  }
  print('encodeTensorBytes / decodeTensorBytes (allocating, protobuf framing included):');
  print(formatTable(api));
  print('\ncopy (set): Float32Array.prototype.set into a preallocated array; alloc + copy: Float32Array.prototype.slice.');
  print('Every codec allocates its output, so "alloc + copy" is the practical floor. fp32 decode returns a view of');
  print('the message bytes when the payload is 4-byte aligned (encodeTensorBytes aligns it), so it costs no copy.');
  print('\nThe same calls into reused memory: encodeTensorBytes(t, codec, { into: bytes }) into one Uint8Array of');
  print('encodeBufferBytes(t, codec); decodeTensorBytes(bytes, { into: pool }) into an array of a BufferPool, released');
  print('after each call; "decode +1": the same message one byte off (the payload unaligned, as protobuf often leaves it).');
  print(formatTable(pooled));
  printGoal(goal, selected);
  print('\nConversion kernels alone, into preallocated arrays:');
  print(formatTable(kernels));
  print('\nReceiving a message (protobuf decode + decodeTensor, fp32, the bytes at the start of their own buffer): laid out');
  print('by the generated code (request ids of four lengths: 3 in 4 payloads off a 4-byte boundary, copied) and by encodeMessage');
  print('(the payload padded onto one: viewed). CPU µs per message; the edge copies a frame into a fresh array, the worker into a pool.');
  print(formatTable(benchReceive(measure, makeTensor)));
}

/** The kernels to time for a codec: both where it has SIMD kernels and the runtime runs them. */
function kindsOf(codec: CodecName, selected: CodecKernels): CodecKernels[] {
  return SIMD_CODECS.has(codec) && selected === 'simd' ? ['js', 'simd'] : ['js'];
}

function benchCodec(label: string, tensor: FloatTensor, codec: CodecName, kind: CodecKernels, copyMs: number): string[] {
  const bytes = tensor.data.byteLength;
  const wire = encodeTensorBytes(tensor, codec);
  const encodeMs = measure(() => encodeTensorBytes(tensor, codec));
  const decodeMs = measure(() => decodeTensorBytes(wire));
  const kernels = codec === 'fp32' ? '' : kind;
  return [label, codec, kernels, mb(wire.byteLength), gbps(bytes, encodeMs), ratio(copyMs, encodeMs), gbps(bytes, decodeMs), ratio(copyMs, decodeMs)];
}

/** One codec's encode and aligned decode into reused memory, as x copy (the figures the goal holds). */
interface PooledRatios { label: string; codec: CodecName; kind: CodecKernels; encodeX: number; decodeX: number }

/** encode and decode (aligned and unaligned payload) writing into reused memory, as a node with a pool does. */
function benchPooled(label: string, tensor: FloatTensor, codec: CodecName, kind: CodecKernels, copyMs: number): { row: string[]; ratios: PooledRatios } {
  const bytes = tensor.data.byteLength;
  const wire = encodeTensorBytes(tensor, codec);
  const into = new Uint8Array(encodeBufferBytes(tensor, codec));
  const pool = new BufferPool();
  // The message one byte further into its buffer: encodeTensorBytes put the payload on a 4-byte
  // boundary, so this one is off it.
  const off = new Uint8Array(wire.byteOffset + 1 + wire.byteLength).subarray(wire.byteOffset + 1);
  off.set(wire);
  const encodeMs = measure(() => encodeTensorBytes(tensor, codec, { into }));
  const decodeMs = measure(() => pool.release(decodeTensorBytes(wire, { into: pool }).data));
  const offMs = measure(() => pool.release(decodeTensorBytes(off, { into: pool }).data));
  const kernels = codec === 'fp32' ? '' : kind;
  const row = [
    label, codec, kernels, mb(wire.byteLength), gbps(bytes, encodeMs), ratio(copyMs, encodeMs),
    gbps(bytes, decodeMs), ratio(copyMs, decodeMs), gbps(bytes, offMs), ratio(copyMs, offMs),
  ];
  return { row, ratios: { label, codec, kind, encodeX: copyMs / encodeMs, decodeX: copyMs / decodeMs } };
}

/**
 * The goal: fp16 and the int8 variants at >= GOAL_X a plain copy of the same bytes, with the kernels
 * this runtime selects, into reused memory (as a node with a pool runs them); per tensor, the worst
 * encode and the worst decode.
 */
function printGoal(all: PooledRatios[], selected: CodecKernels): void {
  print(`\nThe goal: fp16 and the int8 variants >= ${GOAL_X}x a plain copy (${selected} kernels, into reused memory, aligned decode):`);
  for (const label of [...new Set(all.map((r) => r.label))]) {
    const mine = all.filter((r) => r.label === label && r.codec !== 'fp32' && r.kind === selected);
    const worst = (key: 'encodeX' | 'decodeX') => mine.reduce((a, b) => (b[key] < a[key] ? b : a));
    const encode = worst('encodeX');
    const decode = worst('decodeX');
    const met = encode.encodeX >= GOAL_X && decode.decodeX >= GOAL_X;
    print(`${label}: worst encode ${encode.encodeX.toFixed(2)}x (${encode.codec}), worst decode ${decode.decodeX.toFixed(2)}x (${decode.codec}): ${met ? 'met' : 'not met'}`);
  }
}

/** Copy baseline: Float32Array.prototype.set into a preallocated array (the cheapest honest copy). */
function measureCopy(src: Float32Array): number {
  const dst = new Float32Array(src.length);
  return measure(() => dst.set(src));
}

/** The codec's conversion kernels on preallocated arrays, without protobuf or allocation. */
function benchKernel(label: string, tensor: FloatTensor, codec: Exclude<CodecName, 'fp32'>, kind: CodecKernels, copyMs: number): string[] {
  const { data, shape } = tensor;
  const floats = new Float32Array(data.length);
  let encode: () => unknown;
  let decode: () => unknown;
  if (codec === 'fp16') {
    const halves = encodeFp16(data);
    encode = () => encodeFp16(data, halves);
    decode = () => decodeFp16(halves, floats);
  } else if (codec === 'uint8') {
    const q = quantizeUint8(data, 'bench');
    encode = () => quantizeUint8(data, 'bench', q.data);
    decode = () => dequantizeUint8(q.data, q, floats);
  } else {
    const { groups, blockLen } = codec === 'int8' ? { groups: 1, blockLen: data.length }
      : codec === 'int8-channel' ? channelBlocks(shape) : tokenBlocks(shape);
    const q = quantizeInt8Blocks(data, 'bench', groups, blockLen);
    encode = () => quantizeInt8Blocks(data, 'bench', groups, blockLen, q.data);
    decode = () => dequantizeInt8Blocks(q.data, q.scales, blockLen, floats);
  }
  const bytes = data.byteLength;
  const encodeMs = measure(encode);
  const decodeMs = measure(decode);
  const wire = (data.length * (codec === 'fp16' ? 2 : 1)) / 1e6;
  return [label, codec, kind, wire.toFixed(2), gbps(bytes, encodeMs), ratio(copyMs, encodeMs), gbps(bytes, decodeMs), ratio(copyMs, decodeMs)];
}

/** Median CPU ms (user + system, this process) per call of `fn`. */
function measure(fn: () => unknown): number {
  let sink = 0;
  // Long warm-up: besides JIT tiers, the first tens of multi-MB allocations are slow until the
  // allocator stops returning fresh pages to the OS (glibc's dynamic mmap threshold); measured here.
  const warmStart = performance.now();
  for (let calls = 0; calls < WARMUP_CALLS || performance.now() - warmStart < WARMUP_MS; calls++) {
    sink += fn() === undefined ? 0 : 1;
  }
  const perCall: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let calls = 0;
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    do {
      sink += fn() === undefined ? 0 : 1;
      calls++;
    } while (performance.now() - start < MIN_RUN_MS);
    const cpu = process.cpuUsage(cpuStart);
    perCall.push((cpu.user + cpu.system) / 1000 / calls);
  }
  if (sink < 0) print('unreachable'); // keeps the results observably used
  return median(perCall);
}

/** Normally distributed values with a different spread per channel / token, like real activations. */
function makeTensor(shape: number[]): FloatTensor {
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  const rowLen = shape[shape.length - 1];
  let seed = 0x2545f491;
  const next = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; // LCG (Numerical Recipes)
    return seed / 4294967296;
  };
  for (let i = 0; i < count; i++) {
    const spread = 1 + ((i / rowLen) % 7);
    data[i] = spread * (next() + next() + next() - 1.5);
  }
  return { name: 'bench', shape, data };
}

function gbps(bytes: number, ms: number): string {
  return (bytes / ms / 1e6).toFixed(2);
}

function ratio(copyMs: number, ms: number): string {
  return (copyMs / ms).toFixed(2);
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(2);
}

function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) => r.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '))
    .join('\n');
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}
