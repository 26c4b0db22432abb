import { describe, expect, it } from 'vitest';
import { encodeTensor } from '../../../codec/index.ts';
import { ErrorCodes } from '../../../common/index.ts';
import { checkFrameNumbers, checkFrameWire } from '../../../edge-node/frame-limits.ts';
import { takeFrame } from '../../../edge-node/frames.ts';
import { DEFAULT_FRAME_LIMITS, Frame, type FrameProperties } from '../../../schemas/index.ts';

const NOW = 1_700_000_000_000;
const tensor = encodeTensor({ name: 'input', shape: [1, 3, 2, 2], data: new Float32Array(12) }, 'fp32');
const valid: FrameProperties = { request_id: 'r-1', sensor_id: 's', model: 'vgg16-tiny', budget_ms: 1000, capture_at_ms: NOW, tensor };
const bytes = (p: FrameProperties) => Frame.encode(Frame.create(p)).finish();
const take = (p: FrameProperties | Uint8Array, control = false) =>
  takeFrame('s', p instanceof Uint8Array ? p : bytes(p), { maxBytes: 16 * 1024 * 1024, limits: DEFAULT_FRAME_LIMITS, nowMs: NOW, control });

describe('checkFrameWire', () => {
  it('passes a valid frame and reads its request id', () => {
    expect(checkFrameWire(bytes(valid), DEFAULT_FRAME_LIMITS)).toEqual({ requestId: 'r-1', violation: undefined });
  });

  it.each([
    ['request_id', { request_id: 'x'.repeat(70_000) }, 'request_id'],
    ['sensor_id', { sensor_id: 's'.repeat(129) }, 'sensor_id'],
    ['model (1 MiB)', { model: 'm'.repeat(1 << 20) }, 'model'],
    ['tensor name', { tensor: { ...tensor, name: 'n'.repeat(200) } }, 'tensor.name'],
    ['tensor rank', { tensor: { ...tensor, shape: [1, 1, 1, 1, 1, 1, 1, 1, 1] } }, 'tensor.shape'],
    ['tensor elements', { tensor: { ...tensor, shape: [65_536, 65_536] } }, 'tensor.shape'],
    ['scales', { tensor: { ...tensor, scales: new Array(70_000).fill(1) } }, 'tensor.scales'],
    ['image format', { tensor: null, image: { data: new Uint8Array(4), format: 'f'.repeat(300) } }, 'image.format'],
    ['configuration cut', { configuration: { cut: 'c'.repeat(300) } }, 'configuration.cut'],
  ])('refuses an oversized %s with FIELD_LIMIT naming the field, before decoding', (_name, change, field) => {
    const check = checkFrameWire(bytes({ ...valid, ...change } as FrameProperties), DEFAULT_FRAME_LIMITS);
    expect(check.violation).toMatchObject({ code: ErrorCodes.FIELD_LIMIT, details: { field } });
    // The request id is echoed only when it is within its own limit.
    expect(check.requestId).toBe(field === 'request_id' ? '' : 'r-1');
  });

  it('refuses more inputs than frameInputs before decoding any: 8 million empty entries of a 16 MB frame stop at the 65th', () => {
    expect(checkFrameWire(bytes({ ...valid, inputs: Array.from({ length: 64 }, () => ({})) }), DEFAULT_FRAME_LIMITS).violation).toBeUndefined();
    expect(checkFrameWire(bytes({ ...valid, inputs: Array.from({ length: 65 }, () => ({})) }), DEFAULT_FRAME_LIMITS).violation)
      .toMatchObject({ code: ErrorCodes.FIELD_LIMIT, details: { field: 'inputs', entries: 65, limit: 64 } });
    // Field 10 (inputs), length 0, over and over: two bytes an entry, as a hostile sensor wrote it.
    const empty = new Uint8Array(2 * 8_300_000);
    for (let i = 0; i < empty.length; i += 2) empty[i] = 0x52;
    const head = bytes(valid);
    const frame = new Uint8Array(head.length + empty.length);
    frame.set(head);
    frame.set(empty, head.length);
    const taken = take(frame);
    expect(taken.error).toMatchObject({ code: ErrorCodes.FIELD_LIMIT, details: { field: 'inputs' } });
    expect(taken.origin.requestId).toBe('r-1');
  });

  it('counts unpacked repeated fields too, and refuses bytes that are no protobuf message with BAD_FRAME', () => {
    // Field 6 (tensor), length 20, holding field 2 (shape) as 10 unpacked varints of 1: rank 10 > 8.
    const unpacked = new Uint8Array([0x32, 20, ...Array.from({ length: 10 }, () => [0x10, 1]).flat()]);
    expect(checkFrameWire(unpacked, DEFAULT_FRAME_LIMITS).violation).toMatchObject({ details: { field: 'tensor.shape', entries: 9 } });
    expect(() => checkFrameWire(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), DEFAULT_FRAME_LIMITS)).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_FRAME }));
    expect(() => checkFrameWire(new Uint8Array([0x0b]), DEFAULT_FRAME_LIMITS)).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_FRAME }));
  });
});

describe('checkFrameNumbers', () => {
  it.each([
    ['budget_ms', { budget_ms: Number.NaN }], ['budget_ms', { budget_ms: 0 }], ['budget_ms', { budget_ms: 3_600_001 }],
    ['capture_at_ms', { capture_at_ms: Number.POSITIVE_INFINITY }], ['capture_at_ms', { capture_at_ms: NOW + 60_001 }],
    ['accuracy_floor', { accuracy_floor: 1.5 }], ['accuracy_floor', { accuracy_floor: -0.1 }],
    ['configuration.edge_threads', { configuration: { edge_threads: 5000 } }],
    ['configuration.edge_frequency_mhz', { configuration: { edge_frequency_mhz: 1e6 } }],
  ])('refuses %s out of range', (field, change) => {
    expect(() => checkFrameNumbers(Frame.create({ ...valid, ...change } as FrameProperties), DEFAULT_FRAME_LIMITS, NOW))
      .toThrow(expect.objectContaining({ code: ErrorCodes.FIELD_LIMIT, details: expect.objectContaining({ field }) }));
  });

  it('says a capture stamp far ahead is the sensor\'s clock', () => {
    expect(() => checkFrameNumbers(Frame.create({ ...valid, capture_at_ms: NOW + 120_000 }), DEFAULT_FRAME_LIMITS, NOW))
      .toThrow(/capture_at_ms is \d+, 120\.0 s ahead of this edge node's clock \(at most 60 s is taken\): the sensor's clock is ahead; synchronise the clocks/);
  });

  it('passes the edges of each range', () => {
    expect(() => checkFrameNumbers(Frame.create({ ...valid, budget_ms: 3_600_000, capture_at_ms: NOW + 60_000, accuracy_floor: 1 }), DEFAULT_FRAME_LIMITS, NOW)).not.toThrow();
  });
});

describe('takeFrame', () => {
  it('takes a valid frame, with its origin', () => {
    const taken = take(valid);
    expect(taken.error).toBeUndefined();
    expect(taken.origin).toEqual({ sensorId: 's', requestId: 'r-1', model: 'vgg16-tiny', budgetMs: 1000 });
  });

  it('never echoes a field over its limit: a 1 MiB model name leaves the origin model empty', () => {
    const taken = take({ ...valid, model: 'm'.repeat(1 << 20) });
    expect(taken.error?.code).toBe(ErrorCodes.FIELD_LIMIT);
    expect(taken.origin).toEqual({ sensorId: 's', requestId: 'r-1', model: '', budgetMs: 0 });
    expect(taken.error!.message.length).toBeLessThan(200);
  });

  it('honours a forced configuration only from the control channel', () => {
    const forced = { ...valid, configuration: { cut: 'output' } };
    expect(take(forced).error).toMatchObject({ code: ErrorCodes.FORBIDDEN });
    expect(take(forced).origin.requestId).toBe('r-1');
    expect(take(forced, true).error).toBeUndefined();
  });

  it('refuses an oversized payload before decoding it, naming its request only when the request id is its first field', () => {
    const taken = takeFrame('s', bytes(valid), { maxBytes: 10, limits: DEFAULT_FRAME_LIMITS, nowMs: NOW, control: false });
    expect(taken.error?.code).toBe(ErrorCodes.PAYLOAD_TOO_LARGE);
    expect(taken.origin.requestId).toBe('r-1');
    // Field 2 (sensor_id) first, then the request id: not looked for past the first field.
    const late = new Uint8Array([0x12, 1, 0x73, 0x0a, 3, 0x72, 0x2d, 0x32]);
    expect(takeFrame('s', late, { maxBytes: 4, limits: DEFAULT_FRAME_LIMITS, nowMs: NOW, control: false }).origin.requestId).toBe('');
  });
});
