/**
 * Frames (edge-node/frames.ts): `decodeFrame` on hostile bytes, and `admit` — the validation every
 * frame from a sensor goes through — on arbitrary frames, against a ModelStore serving the tiny VGG.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import fc from 'fast-check';
import sharp from 'sharp';
import { CODEC_NAMES, encodeTensor } from '../../codec/index.ts';
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
const SENSOR = 'sensor-1';
/** The arrival time admit() is given, ms since the epoch. */
const NOW = 1_700_000_000_000;
const DECODE_CODES = [ErrorCodes.BAD_FRAME, ErrorCodes.PAYLOAD_TOO_LARGE];
const TAKE_CODES: string[] = [...DECODE_CODES, ErrorCodes.FIELD_LIMIT, ErrorCodes.FORBIDDEN];
const ADMIT_CODES = [
  ErrorCodes.BAD_FRAME, ErrorCodes.UNKNOWN_MODEL, ErrorCodes.UNKNOWN_CUT, ErrorCodes.EXPIRED, ErrorCodes.BAD_INPUT, ErrorCodes.BAD_TENSOR,
];

interface Served { store: ModelStore; cuts: string[]; shape: number[]; images: Uint8Array[] }

/** The tiny VGG served by a ModelStore (admit only reads its metadata), and a few real images. */
async function serve(ctx: FuzzContext): Promise<Served> {
  const store = new ModelStore({
    workDir: mkdtempSync(join(ctx.workDir, 'frames-')),
    sessions: new SessionCache({ memoryBudgetBytes: 64 * 1024 * 1024, threads: 1 }),
  });
  const served = await store.add(MODEL, join(ctx.zooDir, `${MODEL}.onnx`));
  const image = (width: number, height: number, channels: 3 | 4, format: 'png' | 'jpeg') =>
    sharp({ create: { width, height, channels, background: { r: 200, g: 30, b: 90, alpha: 0.5 } } })[format]().toBuffer();
  const images = await Promise.all([image(8, 8, 3, 'png'), image(40, 30, 3, 'jpeg'), image(3, 50, 4, 'png'), image(1, 1, 3, 'jpeg')]);
  return { store, cuts: served.cuts, shape: served.inputShape, images: images.map((b) => new Uint8Array(b)) };
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

/** A tensor of the model's input shape in a random codec, filled from a seed (3,072 values per case). */
function inputTensor(shape: number[]): fc.Arbitrary<TensorProperties> {
  const count = shape.reduce((a, b) => a * b, 1);
  return fc.tuple(codecName, fc.nat()).map(([codec, seed]) =>
    encodeTensor({ name: 'input', shape, data: normalArray(seededRandom(seed), count) }, codec) as TensorProperties);
}

function frameInput(served: Served): fc.Arbitrary<Pick<FrameProperties, 'tensor' | 'image'>> {
  const image = fc.oneof(
    fc.constantFrom(...served.images),
    fc.tuple(fc.constantFrom(...served.images), fc.array(fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }), { minLength: 1, maxLength: 4 }))
      .map(([bytes, ms]) => applyMutations(bytes, ms)),
    mutatedBytes(fc.constantFrom(...served.images)),
    fc.uint8Array({ maxLength: 64 }),
  ).filter((bytes) => declaredPngPixels(bytes) <= 2 ** 22); // larger: the known-bug property below

  return fc.oneof(
    { weight: 3, arbitrary: inputTensor(served.shape).map((tensor) => ({ tensor })) },
    { weight: 2, arbitrary: fc.oneof(perturbedTensorMessage, anyTensorMessage).map((tensor) => ({ tensor })) },
    { weight: 2, arbitrary: fc.record({ data: image, format: fc.constantFrom('png', 'jpeg', '', 'gif') }).map((image) => ({ image })) },
    { weight: 1, arbitrary: fc.constant({}) },
  );
}

/** Frames as sensors send them, with each field sometimes missing, wrong or hostile. */
function frameProperties(served: Served): fc.Arbitrary<FrameProperties> {
  const configuration = fc.record({
    cut: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...served.cuts) }, fc.constant(''), anyString),
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
      model: mostly(fc.constant(MODEL), fc.oneof(anyString, fc.constant('vit-tiny'))),
      budget_ms: mostly(fc.oneof({ weight: 3, arbitrary: fc.double({ min: 1_000, max: 1e6, noNaN: true }) }, fc.double({ min: 0, max: 1_000, noNaN: true })), awkwardNumber),
      capture_at_ms: mostly(fc.integer({ min: NOW - 1_000, max: NOW }), awkwardNumber),
      accuracy_floor: mostly(fc.constant(0), awkwardNumber),
      configuration: fc.option(configuration, { nil: undefined, freq: 2 }),
    }),
    frameInput(served),
  ).map(([fields, input]) => ({ ...fields, ...input }));
}

/** What an admitted frame must satisfy (edge-node/frames.ts, docs/errors.md BAD_FRAME). */
function checkAdmitted(frame: Frame, admitted: Awaited<ReturnType<typeof admit>>, served: Served): void {
  check(frame.request_id !== '' && admitted.requestId === frame.request_id, 'admitted a frame without a request_id');
  check(frame.sensor_id === '' || frame.sensor_id === SENSOR, `admitted a frame claiming sensor ${JSON.stringify(frame.sensor_id)}`);
  check(frame.model === MODEL, `admitted model ${JSON.stringify(frame.model)}`);
  check(frame.budget_ms > 0 && Number.isFinite(frame.budget_ms), `admitted budget ${frame.budget_ms}`);
  check(frame.capture_at_ms > 0 && Number.isFinite(frame.capture_at_ms), `admitted capture time ${frame.capture_at_ms}`);
  check(admitted.deadlineAtMs > NOW, 'admitted an expired frame');
  const input = Object.values(admitted.inputs)[0];
  check(Object.keys(admitted.inputs).length === 1, `admitted inputs ${Object.keys(admitted.inputs).join(', ')}`);
  check(input.type === 'float32' && input.dims.join() === served.shape.join(), `admitted input [${input.dims.join(',')}]`);
  check(input.data.length === served.shape.reduce((a, b) => a * b, 1), 'input data does not fit its shape');
  if (frame.configuration?.cut) {
    const forced = admitted.forced?.configuration;
    check(forced !== undefined && served.cuts.includes(forced.cut), `forced an unknown cut ${JSON.stringify(forced?.cut)}`);
    check(forced.cut === 'output' ? forced.codec === '' : (CODEC_NAMES as readonly string[]).includes(forced.codec), `forced codec ${JSON.stringify(forced.codec)}`);
  } else {
    check(admitted.forced === undefined, 'forced a configuration the frame did not ask for');
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
  accuracy_floor: awkwardNumber, tensor: anyTensorMessage,
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
    name: 'frames/decodeFrame: encoded frames round-trip',
    decoder: 'frames',
    // Valid tensors: protobufjs coerces out-of-range integers (an axis of 2^32) on encoding, so they cannot round-trip.
    build: () => fc.property(fc.tuple(plainFrame, validTensorMessage).map(([p, tensor]) => ({ ...p, tensor }))
      .filter((p) => [p.request_id, p.sensor_id, p.model, p.tensor.name].every(wellFormed)), (p) => {
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
