/**
 * Whole MQTT 3.1.1 sessions of a sensor account, valid and not: how it logs in (or fails to), what it
 * sends (frames with fields of every length, publishes and subscriptions it may not make, garbage,
 * packets announcing sizes past the broker's limits, a socket that stops reading) and how it ends.
 * Packets are bytes written by hand (test/helpers/raw-mqtt.ts), so no client library tidies them up.
 */
import fc from 'fast-check';
import { encodeTensor } from '../../codec/index.ts';
import { Frame, topics, type FrameProperties } from '../../schemas/index.ts';
import { seededRandom, normalArray } from '../helpers/random.ts';
import { awkwardNumber, mutatedBytes, protobufBytes, randomBytes } from './arbitraries.ts';
import { MODEL, SHAPE } from './session-deployment.ts';

export type LoginKind = 'valid' | 'wrong-password' | 'no-credentials' | 'foreign-client-id' | 'bad-protocol' | 'garbage' | 'truncated';
export type EndKind = 'disconnect' | 'destroy' | 'half-packet';

/** A frame described by its field lengths; built into bytes when sent (the request id is made unique then). */
export interface FrameSpec {
  requestIdBytes: number;
  sensorId: 'own' | 'other' | 'empty' | number;
  model: 'served' | 'unknown' | number;
  budgetMs: number;
  captureOffsetMs: number;
  tensor: 'valid' | 'wrong-shape' | 'huge-shape' | 'deep-rank' | 'none';
  /** Bytes appended after the encoded frame (protobuf concatenation: fields that follow). */
  tail: Uint8Array;
}

export type Step =
  | { kind: 'frame'; qos: 0 | 1 | 2; retain: boolean; body: { frame: FrameSpec } | { bytes: Uint8Array } }
  | { kind: 'publish'; topic: string; qos: 0 | 1; bytes: Uint8Array }
  | { kind: 'subscribe'; filter: string; qos: 0 | 1 }
  | { kind: 'unsubscribe'; filter: string }
  | { kind: 'ping' }
  | { kind: 'raw'; bytes: Uint8Array }
  | { kind: 'announce'; bytes: number }
  | { kind: 'stop-reading' };

export interface Session { login: LoginKind; clientIdBytes: number; steps: Step[]; end: EndKind }

/** The tensors a frame spec may carry, encoded once (a case must not spend its time making inputs). */
const TENSORS: Record<FrameSpec['tensor'], FrameProperties['tensor']> = (() => {
  const data = normalArray(seededRandom(29), SHAPE.reduce((a, b) => a * b, 1));
  const valid = encodeTensor({ name: 'input', shape: SHAPE, data }, 'fp32');
  return {
    valid,
    'wrong-shape': encodeTensor({ name: 'input', shape: [1, 3, 16, 64], data }, 'fp32'),
    'huge-shape': { ...valid, shape: [1 << 20, 1 << 20] },
    'deep-rank': { ...valid, shape: new Array(40).fill(1) },
    none: undefined,
  };
})();

const P = 'dynasplit/v1';
/** Lengths around each limit (schemas/limits.ts: ids 256/128, strings 128) and well past them. */
const fieldLength = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 8, max: 64 }) },
  { weight: 2, arbitrary: fc.constantFrom(0, 1, 127, 128, 129, 255, 256, 257) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 70_000 }) },
);

const frameSpec: fc.Arbitrary<FrameSpec> = fc.record({
  requestIdBytes: fieldLength,
  sensorId: fc.oneof({ weight: 6, arbitrary: fc.constant('own' as const) }, fc.constantFrom('other' as const, 'empty' as const), fieldLength),
  model: fc.oneof({ weight: 6, arbitrary: fc.constant('served' as const) }, fc.constant('unknown' as const), fieldLength),
  budgetMs: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 50, max: 30_000 }) }, awkwardNumber),
  captureOffsetMs: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: -1_000, max: 0 }) }, awkwardNumber),
  tensor: fc.oneof({ weight: 6, arbitrary: fc.constant('valid' as const) }, fc.constantFrom('wrong-shape' as const, 'huge-shape' as const, 'deep-rank' as const, 'none' as const)),
  tail: fc.oneof({ weight: 8, arbitrary: fc.constant(new Uint8Array(0)) }, protobufBytes, randomBytes),
});

/** A few encoded frames to mutate (mutating at byte level reaches what field-level specs do not). */
const sampleFrames = fc.constantFrom(...[0, 1, 2].map((i) => buildFrame(
  { requestIdBytes: 12, sensorId: 'own', model: 'served', budgetMs: 5_000, captureOffsetMs: 0, tensor: 'valid', tail: new Uint8Array(0) },
  `sample-${i}`, 'fuzz', 1_700_000_000_000)));

const topicText = fc.oneof(
  fc.constantFrom(`${P}/results/calm`, `${P}/frames/calm`, `${P}/control-frames/fuzz`, `${P}/policy/rpi4/edge-1`, `${P}/tail/fuzz-edge`,
    `${P}/nodes/edge/fuzz`, '$SYS/broker', '#', `${P}/results/+`, `${P}/frames/#`, `${P}/results/fuzz`, `$share/g/${P}/frames/+`, ''),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

/** Packets no valid client writes: reserved types, bad flags, lengths that lie, bytes. */
const garbage = fc.oneof(
  randomBytes,
  fc.tuple(fc.constantFrom(0x00, 0xf0, 0x31 | 0x06, 0x82 & 0xf0, 0x20, 0x10), fc.uint8Array({ maxLength: 40 }))
    .map(([header, body]) => Uint8Array.from([header, body.length, ...body])),
  fc.uint8Array({ maxLength: 8 }).map((b) => Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, ...b])),
);

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 10, arbitrary: fc.record({
    kind: fc.constant('frame' as const),
    qos: fc.oneof({ weight: 8, arbitrary: fc.constant(1 as const) }, fc.constantFrom(0 as const, 2 as const)),
    retain: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, fc.constant(true)),
    body: fc.oneof(
      { weight: 6, arbitrary: frameSpec.map((f) => ({ frame: f })) },
      fc.oneof(mutatedBytes(sampleFrames), randomBytes, protobufBytes, fc.constant(new Uint8Array(0))).map((b) => ({ bytes: b })),
    ),
  }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('publish' as const), topic: topicText, qos: fc.constantFrom(0 as const, 1 as const), bytes: randomBytes }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('subscribe' as const), filter: topicText, qos: fc.constantFrom(0 as const, 1 as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unsubscribe' as const), filter: topicText }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'ping' as const }) },
  { weight: 1, arbitrary: garbage.map((bytes) => ({ kind: 'raw' as const, bytes })) },
  // Past the broker's 64 MiB packet bound, or just a large announcement never completed.
  { weight: 1, arbitrary: fc.constantFrom(64 * 1024 * 1024 + 1, 200 * 1024 * 1024, 100_000).map((bytes) => ({ kind: 'announce' as const, bytes })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'stop-reading' as const }) },
);

export const session: fc.Arbitrary<Session> = fc.record({
  login: fc.oneof({ weight: 12, arbitrary: fc.constant('valid' as const) },
    fc.constantFrom('wrong-password' as const, 'no-credentials' as const, 'foreign-client-id' as const, 'bad-protocol' as const, 'garbage' as const, 'truncated' as const)),
  clientIdBytes: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 16 }) }, fc.integer({ min: 0, max: 65_535 })),
  steps: fc.array(step, { maxLength: 8 }),
  end: fc.oneof({ weight: 4, arbitrary: fc.constant('disconnect' as const) }, fc.constantFrom('destroy' as const, 'half-packet' as const)),
});

/** `text` repeated and cut to `bytes` UTF-8 bytes (ASCII). */
export function ofLength(text: string, bytes: number): string {
  return text.repeat(Math.ceil(bytes / Math.max(1, text.length)) + 1).slice(0, bytes);
}

/** The frame's bytes; `requestId` (unique per frame sent) is padded or cut to the spec's length. */
export function buildFrame(spec: FrameSpec, requestId: string, sensorId: string, now: number): Uint8Array {
  const props: FrameProperties = {
    request_id: spec.requestIdBytes === 0 ? '' : ofLength(`${requestId}.`, Math.max(spec.requestIdBytes, Math.min(requestId.length, 256))),
    sensor_id: spec.sensorId === 'own' ? sensorId : spec.sensorId === 'other' ? 'calm' : spec.sensorId === 'empty' ? '' : ofLength('s', spec.sensorId),
    model: spec.model === 'served' ? MODEL : spec.model === 'unknown' ? 'resnet-9000' : ofLength('m', spec.model),
    budget_ms: spec.budgetMs,
    capture_at_ms: now + spec.captureOffsetMs,
    tensor: TENSORS[spec.tensor],
  };
  const head = Frame.encode(Frame.create(props)).finish();
  return spec.tail.length === 0 ? head : Buffer.concat([head, spec.tail]);
}

/** The fuzzed sensor's own frame topic. */
export const framesTopic = (sensorId: string): string => topics.frames(sensorId);
