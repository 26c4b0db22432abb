/**
 * The generated protobuf code (schemas/index.ts) on arbitrary bytes. The generated `decode` throws
 * protobufjs's own errors (RangeError "index out of range", Error "invalid wire type"); that is
 * fine only where the project wraps it:
 *  - Frame: edge-node/frames.ts decodeFrame -> BAD_FRAME;   Tensor: codec/wire.ts -> BAD_TENSOR;
 *  - Policy: policy decodePolicy -> BAD_POLICY;            TailRequest/TailReply: transport/handling.ts -> BAD_FRAME;
 *  - Result: client/frame-client.ts (the sensor's, the profiler's, the testbed's and the bench's) catches,
 *    counts, logs and drops the message.
 * What is checked here: a raw decode throws only Error instances, never hangs, and whatever it
 * returns re-encodes to bytes that decode to the same message.
 */
import fc from 'fast-check';
import { Frame, Policy, Result, TailReply, TailRequest, Tensor, type ResultProperties } from '../../schemas/index.ts';
import { anyString, awkwardNumber, hostileBytes, protobufBytes } from './arbitraries.ts';
import { check, count, startCase, type FuzzProperty } from './property.ts';

interface MessageType<T> { name: string; decode(bytes: Uint8Array): T; encode(message: T): { finish(): Uint8Array } }

const TYPES = { Frame, Tensor, TailRequest, TailReply, Result, Policy } as const satisfies Record<string, MessageType<unknown>>;

const result: fc.Arbitrary<ResultProperties> = fc.record({
  request_id: anyString, sensor_id: anyString, model: anyString, edge_id: anyString, class_index: fc.nat(),
  top_k: fc.array(fc.record({ index: fc.nat(), score: fc.float() }), { maxLength: 5 }),
  configuration: fc.record({ name: anyString, cut: anyString, codec: anyString }),
  latency: fc.record({ end_to_end_ms: awkwardNumber, transfer_ms: awkwardNumber, source: anyString }, { requiredKeys: [] }),
  energy: fc.record({ joules: awkwardNumber, source: anyString }, { requiredKeys: [] }),
  budget_ms: awkwardNumber, budget_met: fc.boolean(), edge_fallback: fc.boolean(),
  error: fc.option(fc.record({ code: anyString, message: anyString, retryable: fc.boolean() }), { nil: undefined }),
  completed_at_ms: awkwardNumber, tensor_bytes: fc.nat(), worker_id: anyString,
}, { requiredKeys: [] });

const encodeResult = (r: ResultProperties) => Result.encode(Result.create(r)).finish();
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/** One raw decode: an Error or a message whose re-encoding is stable. */
function rawDecode<T>(type: MessageType<T>, bytes: Uint8Array): void {
  const done = startCase();
  let message: T;
  try {
    message = type.decode(bytes);
  } catch (err) {
    check(err instanceof Error, `${type.name}.decode threw a non-Error: ${String(err)}`);
    count(`${err.name} (protobufjs)`);
    done();
    return;
  }
  count('ok');
  const once = type.encode(message).finish();
  check(same(type.encode(type.decode(once)).finish(), once), `${type.name}: re-encoding a decoded message is not stable`);
  done();
}

export const schemasProperties: FuzzProperty[] = [
  {
    name: 'schemas/decode (all six messages): random, protobuf-shaped and pathological bytes',
    decoder: 'schemas',
    build: () => fc.property(fc.constantFrom(...Object.keys(TYPES) as (keyof typeof TYPES)[]), hostileBytes(protobufBytes), (name, bytes) =>
      rawDecode(TYPES[name] as MessageType<unknown>, bytes)),
  },
  {
    name: 'schemas/Result.decode: mutated results',
    decoder: 'schemas',
    build: () => fc.property(hostileBytes(result.map(encodeResult)), (bytes) => rawDecode(Result, bytes)),
  },
  {
    name: 'schemas/Result: results round-trip',
    decoder: 'schemas',
    build: () => fc.property(result, (r) => {
      const bytes = encodeResult(r);
      const done = startCase();
      const back = Result.decode(bytes);
      count('ok');
      check(same(Result.encode(back).finish(), bytes), 'a result changed on the way through the wire');
      done();
    }),
  },
];
