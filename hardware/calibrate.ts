/**
 * Host calibration: measures this machine's effective CNN throughput so compute times measured here
 * can be dilated to a device's (emulation.ts). The kernel is a stack of 3x3 convolutions of
 * VGG16-like width (128 channels at 28x28, between VGG16's third and fourth stages) run through
 * onnxruntime, the same runtime and operator the pipeline uses; tiny models are dominated by
 * per-operator overhead and would understate the host. GFLOP/s = FLOPs (model/inspect, a
 * multiply-add = 2) / median run time, on 1 thread and on every core; the ratio gives Amdahl's p.
 *
 * Power figures of the host are NOT measured: they are a generic estimate and the profile's sources
 * say so, so energy modelled on `host` is an estimate of an estimate. Nothing is cached: each call
 * measures again (~1-2 s).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { median, tensorRng } from '../common/index.ts';
import { encodeModel, inspectModel, openSession, type ModelProto } from '../model/index.ts';
import type { DeviceProfile } from './profile.ts';
import { validateProfile } from './profile-validate.ts';

export interface CalibrateOptions {
  /** ms of timed runs in all (half on 1 thread, half on all cores); default 1500 */
  durationMs?: number;
}

export const DEFAULT_CALIBRATION_MS = 1500;

const CHANNELS = 128;
const SIZE = 28;
const LAYERS = 4;
/** Timed runs per thread count at least, however slow the host. */
const MIN_RUNS = 3;
/** Used when one core is all there is: p cannot be measured then (see the rpi4 profile's source). */
const DEFAULT_PARALLEL_FRACTION = 0.9;
/** onnx.proto TensorProto.DataType.FLOAT and AttributeProto.AttributeType.INTS */
const ONNX_FLOAT = 1;
const ONNX_INTS = 7;

/** Measures this machine and returns its profile, named 'host'. */
export async function calibrateHost(options: CalibrateOptions = {}): Promise<DeviceProfile> {
  const durationMs = options.durationMs ?? DEFAULT_CALIBRATION_MS;
  const dir = await mkdtemp(join(tmpdir(), 'dynasplit-calibrate-'));
  try {
    const path = join(dir, 'calibrate.onnx');
    await writeFile(path, encodeModel(calibrationModel()));
    const { flops } = await inspectModel(path);
    const cores = availableParallelism();
    const one = await medianRunMs(path, 1, durationMs / 2);
    const all = cores > 1 ? await medianRunMs(path, cores, durationMs / 2) : one;
    return hostProfile({ flops, cores, oneMs: one.ms, allMs: all.ms, runs: one.runs + all.runs });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Measured { flops: number; cores: number; oneMs: number; allMs: number; runs: number }

function hostProfile(m: Measured): DeviceProfile {
  const reportedMhz = cpus()[0]?.speed ?? 0;
  const mhz = reportedMhz > 0 ? Math.round(reportedMhz) : 1000;
  // FLOPs / (ms * 1e6) = GFLOP/s
  const oneGflops = m.flops / (m.oneMs * 1e6);
  const allGflops = m.flops / (m.allMs * 1e6);
  const parallelFraction = m.cores > 1 ? amdahlFraction(allGflops / oneGflops, m.cores) : DEFAULT_PARALLEL_FRACTION;
  // Generic x86 estimate: ~10 W + 1 W per core idle, ~6 W more per busy core (a 16-core, 125 W part is ~7.8 W/core).
  const idleW = 10 + m.cores;
  const memoryMb = Math.floor(totalmem() / 2 ** 20);
  const date = new Date().toISOString();
  const kernel = `${LAYERS} conv3x3 layers, ${CHANNELS} channels at ${SIZE}x${SIZE}, onnxruntime fp32`;
  return validateProfile({
    name: 'host',
    kind: 'edge',
    description: `this machine (${cpus()[0]?.model?.trim() ?? 'unknown CPU'}, ${m.cores} cores), calibrated ${date}`,
    memoryMb,
    reserveMb: Math.min(1024, Math.floor(memoryMb / 4)),
    cpu: {
      cores: m.cores,
      frequenciesMhz: [mhz],
      gflopsPerCorePerGhz: oneGflops / (mhz / 1000),
      parallelFraction,
      idleW,
      activeW: { [String(mhz)]: idleW + 6 * m.cores },
    },
    sources: {
      memoryMb: 'measured: os.totalmem()',
      reserveMb: 'estimate: a quarter of memory, at most 1 GB, for the OS and runtime',
      'cpu.frequenciesMhz': reportedMhz > 0
        ? `os.cpus() reports ${reportedMhz} MHz; the host's clock is not a dynasplit knob`
        : 'os.cpus() reports no clock; 1000 MHz is a placeholder (gflopsPerCorePerGhz is scaled to it, so throughput is still the measured one)',
      'cpu.gflopsPerCorePerGhz': `measured by calibrateHost() at ${date}: ${oneGflops.toFixed(1)} GFLOP/s on 1 thread (${kernel}), divided by ${mhz / 1000} GHz`,
      'cpu.parallelFraction': m.cores > 1
        ? `measured: ${allGflops.toFixed(1)} GFLOP/s on ${m.cores} threads = ${(allGflops / oneGflops).toFixed(2)}x one thread; Amdahl p solved from that speedup`
        : `estimate: one core, so p cannot be measured; ${DEFAULT_PARALLEL_FRACTION} as in the rpi4 profile`,
      'cpu.idleW': 'estimate, not measured: generic x86 figure, 10 W plus 1 W per core',
      'cpu.activeW': 'estimate, not measured: idle plus 6 W per busy core (generic x86 figure)',
    },
    calibration: {
      kernel, flops: m.flops, singleThreadMs: m.oneMs, allCoresMs: m.allMs, threads: m.cores,
      singleThreadGflops: oneGflops, allCoresGflops: allGflops, runs: m.runs, measuredAt: date,
    },
  }, 'calibrateHost()');
}

/** Amdahl's p from a speedup S on n threads: S = 1 / ((1 - p) + p / n)  =>  p = (1 - 1/S) / (1 - 1/n), clamped to [0, 1]. */
export function amdahlFraction(speedup: number, threads: number): number {
  const p = (1 - 1 / speedup) / (1 - 1 / threads);
  return Math.min(1, Math.max(0, p));
}

/** Median ms of timed runs (after one warm-up) over about `budgetMs`, with at least MIN_RUNS runs. */
async function medianRunMs(path: string, threads: number, budgetMs: number): Promise<{ ms: number; runs: number }> {
  const session = await openSession(path, { threads });
  try {
    const input = new Float32Array(CHANNELS * SIZE * SIZE);
    tensorRng(1, 'calibration-input').fillUniform(input, 0, 1);
    const feeds = { [session.inputs[0].name]: new ort.Tensor('float32', input, [1, CHANNELS, SIZE, SIZE]) };
    await session.run(feeds);
    const times: number[] = [];
    const start = performance.now();
    while (times.length < MIN_RUNS || performance.now() - start < budgetMs) {
      const t0 = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t0);
    }
    return { ms: median(times), runs: times.length };
  } finally {
    await session.release();
  }
}

/** The calibration kernel: LAYERS x (Conv 3x3 pad 1 + Relu), weights inline, every shape declared. */
function calibrationModel(): ModelProto {
  const shape = [1, CHANNELS, SIZE, SIZE];
  const info = (name: string) => ({
    name,
    type: { tensor_type: { elem_type: ONNX_FLOAT, shape: { dim: shape.map((d) => ({ dim_value: d })) } } },
  });
  const nodes: ModelProto['graph']['node'] = [];
  const initializer: ModelProto['graph']['initializer'] = [];
  const produced: string[] = [];
  let x = 'input';
  for (let l = 0; l < LAYERS; l++) {
    const weights = new Float32Array(CHANNELS * CHANNELS * 9);
    // He-uniform keeps activations O(1) through the ReLUs, so no denormals slow the runs down.
    const bound = Math.sqrt(6 / (CHANNELS * 9));
    tensorRng(0, `calibration.conv${l}`).fillUniform(weights, -bound, bound);
    initializer.push({ name: `conv${l}.weight`, dims: [CHANNELS, CHANNELS, 3, 3], data_type: ONNX_FLOAT, raw_data: new Uint8Array(weights.buffer) });
    nodes.push({
      name: `conv${l}`, op_type: 'Conv', input: [x, `conv${l}.weight`], output: [`conv${l}`],
      attribute: [{ name: 'kernel_shape', type: ONNX_INTS, ints: [3, 3] }, { name: 'pads', type: ONNX_INTS, ints: [1, 1, 1, 1] }],
    });
    const out = l === LAYERS - 1 ? 'output' : `relu${l}`;
    nodes.push({ name: `relu${l}`, op_type: 'Relu', input: [`conv${l}`], output: [out] });
    produced.push(`conv${l}`);
    if (out !== 'output') produced.push(out);
    x = out;
  }
  return {
    ir_version: 8,
    producer_name: 'dynasplit-calibrate',
    opset_import: [{ domain: '', version: 17 }],
    graph: { name: 'calibrate', node: nodes, initializer, input: [info('input')], output: [info('output')], value_info: produced.map(info) },
  };
}
