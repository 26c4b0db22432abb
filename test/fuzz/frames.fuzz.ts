/**
 * Frames (edge-node/frames.ts): `decodeFrame` on hostile bytes, and `admit` — the validation every
 * frame from a sensor goes through — on arbitrary frames, against a ModelStore serving the tiny VGG
 * (one input) and a torch export with two inputs (test/fixtures/models/two-inputs.onnx), so frames
 * carry 0..4 further named inputs (Frame.inputs): complete, missing, repeated, unknown, misshapen.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import fc from 'fast-check';
import sharp from 'sharp';
import { CODEC_NAMES, decodeTensor, encodeTensor } from '../../codec/index.ts';
import { ErrorCodes } from '../../common/index.ts';
// The admission path is internal to the edge node; it is fuzzed directly, not through a broker.
import { admit, decodeFrame, takeFrame } from '../../edge-node/frames.ts';
import { ModelStore, SessionCache } from '../../model/index.ts';
import { DEFAULT_FRAME_LIMITS, Frame, type FrameProperties, type TensorProperties } from '../../schemas/index.ts';
import { normalArray, seededRandom } from '../helpers/random.ts';
import {
  anyString, anyTensorMessage, applyMutations, awkwardNumber, codecName, hostileBytes, mutatedBytes, perturbedTensorMessage,
  validTensorMessage,
} from './arbitraries.ts';
import { attempt, attemptAsync, check, expectCoded, type FuzzContext, type FuzzProperty } from './property.ts';

const MODEL = 'vgg16-tiny';
/** Inputs `image` [1, 3, 32, 32] and `meta` [1, 4]. */
const TWO = 'two-inputs';
const FIXTURES = join(import.meta.dirname, '../fixtures/models');
const SENSOR = 'sensor-1';
/** The arrival time admit() is given, ms since the epoch. */
const NOW = 1_700_000_000_000;
const DECODE_CODES = [ErrorCodes.BAD_FRAME, ErrorCodes.PAYLOAD_TOO_LARGE];
const TAKE_CODES: string[] = [...DECODE_CODES, ErrorCodes.FIELD_LIMIT, ErrorCodes.FORBIDDEN];
const ADMIT_CODES = [
  ErrorCodes.BAD_FRAME, ErrorCodes.UNKNOWN_MODEL, ErrorCodes.UNKNOWN_CUT, ErrorCodes.EXPIRED, ErrorCodes.BAD_INPUT, ErrorCodes.BAD_TENSOR,
];

interface InputShape { name: string; shape: number[] }
interface ServedModel { cuts: string[]; inputs: InputShape[] }
interface Served { store: ModelStore; models: Record<string, ServedModel>; images: Uint8Array[] }

/** The tiny VGG and the two-input model served by a ModelStore (admit only reads their metadata), and a few real images. */
async function serve(ctx: FuzzContext): Promise<Served> {
  const store = new ModelStore({
    workDir: mkdtempSync(join(ctx.workDir, 'frames-')),
    sessions: new SessionCache({ memoryBudgetBytes: 64 * 1024 * 1024, threads: 1 }),
  });
  const models: Record<string, ServedModel> = {};
  for (const [name, path] of [[MODEL, join(ctx.zooDir, `${MODEL}.onnx`)], [TWO, join(FIXTURES, `${TWO}.onnx`)]]) {
    const served = await store.add(name, path);
    models[name] = { cuts: served.cuts, inputs: served.inputs.map((d) => ({ name: d.name, shape: d.shape })) };
  }
  const image = (width: number, height: number, channels: 3 | 4, format: 'png' | 'jpeg') =>
    sharp({ create: { width, height, channels, background: { r: 200, g: 30, b: 90, alpha: 0.5 } } })[format]().toBuffer();
  const images = await Promise.all([image(8, 8, 3, 'png'), image(40, 30, 3, 'jpeg'), image(3, 50, 4, 'png'), image(1, 1, 3, 'jpeg')]);
  return { store, models, images: images.map((b) => new Uint8Array(b)) };
}

const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** Width x height a PNG's IHDR declares (0 for anything else). */
function declaredPngPixels(bytes: Uint8Array): number {
  if (bytes.length < 24 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.getUint32(16) * view.getUint32(20);
}

/** A PNG (RFC 2083) of `width` x `height` pixels, 8-bit, whose IDAT holds no pixel data: 65 bytes. */
function emptyPng(width: number, height: number, colour: 2 | 6): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const framed = Buffer.alloc(body.length + 8);
    framed.writeUInt32BE(data.length, 0);
    body.copy(framed, 4);
    framed.writeUInt32BE(crc32(body), body.length + 4);
    return framed;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = colour; // 2: RGB, 6: RGBA
  return new Uint8Array(Buffer.concat([Buffer.from(PNG_SIGNATURE), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(0))), chunk('IEND', Buffer.alloc(0))]));
}

/** A tensor of an input's shape in a random codec, filled from a seed (at most 3,072 values per tensor). */
function inputTensor(shape: number[], name = 'input'): fc.Arbitrary<TensorProperties> {
  const count = shape.reduce((a, b) => a * b, 1);
  return fc.tuple(codecName, fc.nat()).map(([codec, seed]) =>
    encodeTensor({ name, shape, data: normalArray(seededRandom(seed), count) }, codec) as TensorProperties);
}

/** Tensors of every input in `inputs`, each named as its input, in any order. */
function namedTensors(inputs: InputShape[]): fc.Arbitrary<TensorProperties[]> {
  return fc.shuffledSubarray(inputs, { minLength: inputs.length, maxLength: inputs.length })
    .chain((ds) => fc.tuple(...ds.map((d) => inputTensor(d.shape, d.name))));
}

/** One entry of Frame.inputs: mostly an input of the model, else one under a wrong name, of a wrong shape or hostile. */
function frameEntry(model: ServedModel, served: Served): fc.Arbitrary<TensorProperties> {
  const names = model.inputs.map((d) => d.name);
  const shapes = Object.values(served.models).flatMap((m) => m.inputs.map((d) => d.shape));
  const otherName = fc.oneof(anyString, fc.constantFrom('', 'input', 'image', 'meta', 'IMAGE', 'meta '));
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...model.inputs).chain((d) => inputTensor(d.shape, d.name)) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...names), fc.constantFrom(...shapes)).chain(([name, shape]) => inputTensor(shape, name)) },
    { weight: 1, arbitrary: fc.tuple(otherName, fc.constantFrom(...shapes)).chain(([name, shape]) => inputTensor(shape, name)) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...names), fc.oneof(perturbedTensorMessage, anyTensorMessage)).map(([name, t]) => ({ ...t, name })) },
  );
}

/**
 * What a frame for `model` carries: often exactly what a sensor sends (one input as `tensor`, the
 * others in `inputs`; the first unnamed or misnamed, for the card's image input), else a tensor or
 * image as below with 0..4 arbitrary entries in `inputs`.
 */
function modelInputs(served: Served, name: string): fc.Arbitrary<Pick<FrameProperties, 'tensor' | 'image' | 'inputs'>> {
  const model = served.models[name];
  const complete = fc.nat(model.inputs.length - 1).chain((i) => {
    const d = model.inputs[i];
    const tensorName = i === 0 ? fc.constantFrom(d.name, 'input', '', 'not-an-input') : fc.constant(d.name);
    return fc.tuple(tensorName.chain((n) => inputTensor(d.shape, n)), namedTensors(model.inputs.filter((_, j) => j !== i)));
  }).map(([tensor, inputs]) => ({ tensor, inputs }));
  const entries = fc.oneof({ weight: 2, arbitrary: fc.constant<TensorProperties[]>([]) }, { weight: 3, arbitrary: fc.array(frameEntry(model, served), { maxLength: 4 }) });
  return fc.oneof(
    { weight: 4, arbitrary: complete },
    { weight: 3, arbitrary: fc.tuple(frameInput(served, model), entries).map(([input, inputs]) => ({ ...input, inputs })) },
  );
}

function frameInput(served: Served, model: ServedModel): fc.Arbitrary<Pick<FrameProperties, 'tensor' | 'image'>> {
  const image = fc.oneof(
    fc.constantFrom(...served.images),
    fc.tuple(fc.constantFrom(...served.images), fc.array(fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }), { minLength: 1, maxLength: 4 }))
      .map(([bytes, ms]) => applyMutations(bytes, ms)),
    mutatedBytes(fc.constantFrom(...served.images)),
    fc.uint8Array({ maxLength: 64 }),
  ).filter((bytes) => declaredPngPixels(bytes) <= 2 ** 22); // larger: the known-bug property below

  return fc.oneof(
    { weight: 3, arbitrary: inputTensor(model.inputs[0].shape).map((tensor) => ({ tensor })) },
    { weight: 2, arbitrary: fc.oneof(perturbedTensorMessage, anyTensorMessage).map((tensor) => ({ tensor })) },
    { weight: 2, arbitrary: fc.record({ data: image, format: fc.constantFrom('png', 'jpeg', '', 'gif') }).map((image) => ({ image })) },
    { weight: 1, arbitrary: fc.constant({}) },
  );
}

/** Frames as sensors send them, for either model, with each field sometimes missing, wrong or hostile. */
function frameProperties(served: Served): fc.Arbitrary<FrameProperties> {
  return fc.constantFrom(MODEL, TWO).chain((name) => modelFrame(served, name));
}

function modelFrame(served: Served, name: string): fc.Arbitrary<FrameProperties> {
  const configuration = fc.record({
    cut: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...served.models[name].cuts) }, fc.constant(''), anyString),
    codec: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...CODEC_NAMES) }, fc.constant(''), anyString),
    edge_threads: fc.nat(64),
    edge_frequency_mhz: fc.nat(4000),
    cloud_accelerator: fc.constantFrom('', 'cuda', 'none'),
  }, { requiredKeys: [] });
  /** Mostly `valid`, sometimes `hostile`: a frame has many fields, so each must usually pass for a case to get far. */
  const mostly = <T, U>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<U>) =>
    fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: hostile });
  return fc.tuple(
    fc.record({
      request_id: mostly(fc.constant('req-1'), fc.oneof(fc.constant(''), anyString)),
      sensor_id: mostly(fc.constantFrom(SENSOR, ''), anyString),
      model: mostly(fc.constant(name), fc.oneof(anyString, fc.constantFrom('vit-tiny', MODEL, TWO))),
      budget_ms: mostly(fc.oneof({ weight: 3, arbitrary: fc.double({ min: 1_000, max: 1e6, noNaN: true }) }, fc.double({ min: 0, max: 1_000, noNaN: true })), awkwardNumber),
      capture_at_ms: mostly(fc.integer({ min: NOW - 1_000, max: NOW }), awkwardNumber),
      accuracy_floor: mostly(fc.constant(0), awkwardNumber),
      configuration: fc.option(configuration, { nil: undefined, freq: 2 }),
    }),
    modelInputs(served, name),
  ).map(([fields, input]) => ({ ...fields, ...input }));
}

/** What an admitted frame must satisfy (edge-node/frames.ts, docs/errors.md BAD_FRAME). */
function checkAdmitted(frame: Frame, admitted: Awaited<ReturnType<typeof admit>>, served: Served): void {
  check(frame.request_id !== '' && admitted.requestId === frame.request_id, 'admitted a frame without a request_id');
  check(frame.sensor_id === '' || frame.sensor_id === SENSOR, `admitted a frame claiming sensor ${JSON.stringify(frame.sensor_id)}`);
  check(Object.hasOwn(served.models, frame.model), `admitted model ${JSON.stringify(frame.model)}`);
  const model = served.models[frame.model];
  check(frame.budget_ms > 0 && Number.isFinite(frame.budget_ms), `admitted budget ${frame.budget_ms}`);
  check(frame.capture_at_ms > 0 && Number.isFinite(frame.capture_at_ms), `admitted capture time ${frame.capture_at_ms}`);
  check(admitted.deadlineAtMs > NOW, 'admitted an expired frame');
  checkInputs(frame, admitted.inputs, model);
  if (frame.configuration?.cut) {
    const forced = admitted.forced?.configuration;
    check(forced !== undefined && model.cuts.includes(forced.cut), `forced an unknown cut ${JSON.stringify(forced?.cut)}`);
    check(forced.cut === 'output' ? forced.codec === '' : (CODEC_NAMES as readonly string[]).includes(forced.codec), `forced codec ${JSON.stringify(forced.codec)}`);
  } else {
    check(admitted.forced === undefined, 'forced a configuration the frame did not ask for');
  }
}

/**
 * An admitted frame feeds every input of its model exactly once, float32 of the input's shape, and
 * every tensor it names travels to the input of that name unchanged (decoded as the codec says).
 */
function checkInputs(frame: Frame, feeds: Awaited<ReturnType<typeof admit>>['inputs'], model: ServedModel): void {
  const fed = Object.keys(feeds).sort();
  check(fed.join('\n') === model.inputs.map((d) => d.name).sort().join('\n'), `admitted inputs ${JSON.stringify(fed)}`);
  for (const d of model.inputs) {
    const t = feeds[d.name];
    check(t.type === 'float32' && t.dims.join() === d.shape.join(), `admitted input ${d.name} [${t.dims.join(',')}]`);
    check(t.data.length === d.shape.reduce((a, b) => a * b, 1), `data of input ${d.name} does not fit its shape`);
  }
  const named = frame.inputs.map((t) => t.name ?? '');
  check(new Set(named).size === named.length, `admitted a frame naming an input twice: ${JSON.stringify(named)}`);
  const sameValues = (message: TensorProperties, name: string) => {
    const want = decodeTensor(message).data;
    const got = feeds[name].data as Float32Array;
    return Buffer.compare(Buffer.from(want.buffer, want.byteOffset, want.byteLength), Buffer.from(got.buffer, got.byteOffset, got.byteLength)) === 0;
  };
  for (const t of frame.inputs) {
    const name = t.name ?? '';
    check(Object.hasOwn(feeds, name) && sameValues(t, name), `input ${JSON.stringify(name)} was not fed as sent`);
  }
  const tensorName = frame.tensor?.name ?? '';
  if (frame.tensor && model.inputs.length > 1 && Object.hasOwn(feeds, tensorName)) {
    check(sameValues(frame.tensor, tensorName), `the frame's tensor did not feed input ${JSON.stringify(tensorName)}`);
  }
}

async function admitCase(frame: Frame, served: Served): Promise<void> {
  const out = await attemptAsync(ADMIT_CODES, () => admit(frame, SENSOR, served.store, NOW));
  if (out.ok) checkAdmitted(frame, out.value, served);
}

const encodeFrame = (p: FrameProperties) => Frame.encode(Frame.create(p)).finish();

/** Frames for decodeFrame alone: no ModelStore needed. */
const plainFrame: fc.Arbitrary<FrameProperties> = fc.record({
  request_id: anyString, sensor_id: anyString, model: anyString, budget_ms: awkwardNumber, capture_at_ms: awkwardNumber,
  accuracy_floor: awkwardNumber, tensor: anyTensorMessage, inputs: fc.array(anyTensorMessage, { maxLength: 3 }),
}, { requiredKeys: [] });

/** Strings that survive UTF-8 (no lone surrogates): protobuf `string` fields are UTF-8 by definition. */
const wellFormed = (s: string | null | undefined) => !/[\uD800-\uDFFF]/u.test(s ?? '');

export const framesProperties: FuzzProperty[] = [
  {
    name: 'frames/decodeFrame: random, protobuf-shaped and mutated bytes under a random size limit',
    decoder: 'frames',
    build: () => fc.property(hostileBytes(plainFrame.map(encodeFrame)), fc.oneof(fc.constant(16 * 1024 * 1024), fc.nat(300)), (bytes, limit) => {
      const out = attempt(DECODE_CODES, () => decodeFrame(bytes, limit));
      if (bytes.length > limit) check(!out.ok && out.error.code === ErrorCodes.PAYLOAD_TOO_LARGE, 'an oversized frame was not refused as too large');
      if (out.ok) check(out.value instanceof Frame, 'decodeFrame returned something other than a Frame');
    }),
  },
  {
    name: 'frames/takeFrame: never throws; a refusal is coded, and the origin it answers with stays within the limits',
    decoder: 'frames',
    build: () => fc.property(hostileBytes(plainFrame.map(encodeFrame)), fc.boolean(), (bytes, control) => {
      const taken = takeFrame(SENSOR, bytes, { maxBytes: 16 * 1024 * 1024, limits: DEFAULT_FRAME_LIMITS, nowMs: NOW, control });
      if (taken.error) check(TAKE_CODES.includes(taken.error.code), () => `takeFrame refused with ${taken.error!.code}: ${taken.error!.message}`);
      else check(taken.frame instanceof Frame, 'takeFrame took something other than a Frame');
      check(Buffer.byteLength(taken.origin.requestId) <= DEFAULT_FRAME_LIMITS.requestIdBytes, 'an origin request id past its limit');
      check(Buffer.byteLength(taken.origin.model) <= DEFAULT_FRAME_LIMITS.modelBytes, 'an origin model past its limit');
      check(Number.isFinite(taken.origin.budgetMs), 'an origin budget that is not finite');
    }),
  },
  {
    name: 'frames/takeFrame: the tensor limits hold per tensor: several inputs each within them are taken, one over them is refused',
    decoder: 'frames',
    build: () => {
      const { tensorRank } = DEFAULT_FRAME_LIMITS;
      const within = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: tensorRank });
      // Past the rank, or past 16 Mi elements (4,097^2 > 4,096^2): the shape alone decides, no data is sent.
      const over = fc.oneof(
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: tensorRank + 1, maxLength: tensorRank + 4 }),
        fc.tuple(fc.integer({ min: 4_097, max: 65_536 }), fc.integer({ min: 4_097, max: 65_536 })).map(([a, b]) => [a, b]),
      );
      return fc.property(fc.array(within, { minLength: 1, maxLength: 6 }), fc.option(fc.tuple(over, fc.nat()), { nil: undefined }), (shapes, bad) => {
        const all = [...shapes];
        if (bad) all.splice(bad[1] % (all.length + 1), 0, bad[0]);
        const [tensor, ...inputs] = all.map((shape, i): TensorProperties => ({ name: `in${i}`, shape }));
        const bytes = encodeFrame({ request_id: 'req-1', model: MODEL, budget_ms: 60_000, capture_at_ms: NOW, tensor, inputs });
        const taken = takeFrame(SENSOR, bytes, { maxBytes: 16 * 1024 * 1024, limits: DEFAULT_FRAME_LIMITS, nowMs: NOW, control: false });
        if (!bad) check(taken.error === undefined, () => `refused ${all.length} tensors each within the limits: ${taken.error?.message}`);
        else check(taken.error?.code === ErrorCodes.FIELD_LIMIT && taken.error.details?.field === 'tensor.shape', () => `took a tensor of shape [${bad[0].join(', ')}]: ${taken.error?.message ?? 'no error'}`);
      });
    },
  },
  {
    name: 'frames/decodeFrame: encoded frames round-trip',
    decoder: 'frames',
    // Valid tensors: protobufjs coerces out-of-range integers (an axis of 2^32) on encoding, so they cannot round-trip.
    build: () => fc.property(fc.tuple(plainFrame, validTensorMessage, fc.array(validTensorMessage, { maxLength: 3 })).map(([p, tensor, inputs]) => ({ ...p, tensor, inputs }))
      .filter((p) => [p.request_id, p.sensor_id, p.model, p.tensor.name, ...p.inputs.map((t) => t.name)].every(wellFormed)), (p) => {
      const bytes = encodeFrame(p);
      const out = attempt([], () => decodeFrame(bytes, bytes.length));
      if (!out.ok) return;
      const again = Frame.encode(out.value).finish();
      check(Buffer.compare(Buffer.from(again), Buffer.from(bytes)) === 0, 'decoding and re-encoding a frame changed its bytes');
      check(out.value.request_id === (p.request_id ?? '') && Object.is(out.value.budget_ms, p.budget_ms ?? 0), 'fields changed');
    }),
  },
  {
    name: 'frames/admit: arbitrary frames',
    decoder: 'frames',
    shortRuns: 500,
    build: async (ctx) => {
      const served = await serve(ctx);
      return fc.asyncProperty(frameProperties(served), async (p) => admitCase(Frame.create(p), served));
    },
  },
  {
    name: 'frames/admit: a PNG of a few bytes declaring a wide image is refused within a second',
    decoder: 'frames',
    longRunShare: 0.001,
    build: async (ctx) => {
      const served = await serve(ctx);
      const wide = fc.noShrink(fc.record({ width: fc.integer({ min: 100_000, max: 2_000_000 }), height: fc.integer({ min: 2, max: 64 }), colour: fc.constantFrom<2 | 6>(2, 6) }))
        .filter(({ width, height }) => width * height <= 64 * 1024 * 1024);
      return fc.asyncProperty(wide, async ({ width, height, colour }) => {
        const data = emptyPng(width, height, colour);
        const frame = Frame.create({ request_id: 'req-1', model: MODEL, budget_ms: 60_000, capture_at_ms: NOW, image: { data, format: 'png' } });
        const started = performance.now();
        try {
          await admit(frame, SENSOR, served.store, NOW);
        } catch (err) {
          expectCoded(err, ADMIT_CODES);
        }
        const ms = performance.now() - started;
        check(ms < 1_000, `a ${data.length}-byte PNG declaring ${width} x ${height} took ${ms.toFixed(0)} ms to refuse`);
      });
    },
  },
  {
    name: 'frames/decodeFrame + admit: mutated frame bytes',
    decoder: 'frames',
    shortRuns: 500,
    build: async (ctx) => {
      const served = await serve(ctx);
      return fc.asyncProperty(mutatedBytes(frameProperties(served).map(encodeFrame)), async (bytes) => {
        const decoded = attempt(DECODE_CODES, () => decodeFrame(bytes, 16 * 1024 * 1024));
        if (decoded.ok) await admitCase(decoded.value, served);
      });
    },
  },
];
