/**
 * The limits of schemas/limits.ts, checked on a frame's wire bytes before protobufjs decodes it:
 * decoding allocates every string and array at the size its sender wrote, so a 1 MiB model name
 * must be refused while it is still a length prefix. The walk reads the protobuf wire format
 * (protobuf.dev/programming-guides/encoding) of Frame and the messages in it, allocating nothing
 * but the request id (once it is known to be within its limit, so a refusal can name its request).
 * Numbers (budgets, timestamps, thresholds) are checked after decoding, by checkFrameNumbers.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import type { Frame, FrameLimits } from '../schemas/index.ts';

/** What the walk found: the request id when it is within its limit, and the first field over its limit. */
export interface WireCheck {
  requestId: string;
  violation?: DynasplitError;
}

type Limit = (l: FrameLimits) => number;
/** A message field; `count`: it is repeated, and its entries are limited. */
type Rule = { kind: 'bytes'; field: string; limit: Limit } | { kind: 'message'; fields: Fields; count?: { field: string; limit: Limit } }
  | { kind: 'count'; field: string; width: 0 | 4; limit: Limit; dims?: true };
type Fields = Record<number, Rule>;

const text = (field: string, limit: Limit = (l) => l.stringBytes): Rule => ({ kind: 'bytes', field, limit });

// Field numbers: schemas/tensor.proto and schemas/pipeline.proto.
const TENSOR: Fields = {
  1: text('tensor.name'),
  2: { kind: 'count', field: 'tensor.shape', width: 0, limit: (l) => l.tensorRank, dims: true },
  5: { kind: 'count', field: 'tensor.scales', width: 4, limit: (l) => l.tensorGroups },
  6: { kind: 'count', field: 'tensor.zero_points', width: 0, limit: (l) => l.tensorGroups },
};
const IMAGE: Fields = { 2: text('image.format') };
const CONFIGURATION: Fields = {
  1: text('configuration.name'), 2: text('configuration.cut'), 3: text('configuration.codec'),
  6: text('configuration.edge_accelerator'), 7: text('configuration.cloud_accelerator'),
};
const FRAME: Fields = {
  1: text('request_id', (l) => l.requestIdBytes),
  2: text('sensor_id', (l) => l.sensorIdBytes),
  3: text('model', (l) => l.modelBytes),
  6: { kind: 'message', fields: TENSOR },
  7: { kind: 'message', fields: IMAGE },
  9: { kind: 'message', fields: CONFIGURATION },
  10: { kind: 'message', fields: TENSOR, count: { field: 'inputs', limit: (l) => l.frameInputs } },
};

class Walk {
  requestId = '';
  violation?: DynasplitError;
  /** The product of the shape entries of the tensor being walked (a frame may carry several). */
  elements = 1;
  readonly counts = new Map<string, number>();
  constructor(readonly bytes: Uint8Array, readonly limits: FrameLimits) {}

  varint(at: number): [number, number] {
    let value = 0;
    for (let shift = 0, i = at; i < this.bytes.length && shift < 64; shift += 7, i++) {
      const b = this.bytes[i];
      // Beyond 2^53 the value is imprecise, which only matters for lengths: those are checked against the end.
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return [value, i + 1];
    }
    throw malformed('a varint runs past the end');
  }

  message(from: number, to: number, fields: Fields): void {
    let at = from;
    while (at < to && !this.violation) {
      const [tag, next] = this.varint(at);
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      at = next;
      if (wire === 0) {
        const [value, after] = this.varint(at);
        this.scalar(fields[field], value);
        at = after;
      } else if (wire === 1 || wire === 5) {
        if (wire === 5) this.scalar(fields[field], 0);
        at += wire === 1 ? 8 : 4;
      } else if (wire === 2) {
        const [length, start] = this.varint(at);
        if (start + length > to) throw malformed(`field ${field} runs past the end of its message`);
        this.delimited(fields[field], start, start + length);
        at = start + length;
      } else {
        throw malformed(`wire type ${wire} of field ${field} is not used by this protocol`);
      }
    }
    if (at > to) throw malformed('a fixed-width field runs past the end');
  }

  /** One unpacked element of a repeated numeric field. */
  scalar(rule: Rule | undefined, value: number): void {
    if (rule?.kind !== 'count') return;
    this.count(rule, 1);
    if (rule.dims) this.elements *= value;
    this.checkElements();
  }

  delimited(rule: Rule | undefined, start: number, end: number): void {
    if (!rule) return;
    if (rule.kind === 'bytes') {
      const limit = rule.limit(this.limits);
      if (end - start > limit) this.violation = fieldLimit(rule.field, end - start, limit, 'bytes');
      else if (rule.field === 'request_id') this.requestId = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, end - start).toString('utf8');
    } else if (rule.kind === 'message' && rule.fields === TENSOR) {
      if (rule.count) this.count(rule.count, 1);
      // Each tensor within the limits on its own: its shape entries, their product, its groups.
      for (const field of ['tensor.shape', 'tensor.scales', 'tensor.zero_points']) this.counts.delete(field);
      this.elements = 1;
      this.message(start, end, rule.fields);
    } else if (rule.kind === 'message') {
      this.message(start, end, rule.fields);
    } else if (rule.width === 4) {
      this.count(rule, (end - start) / 4);
    } else {
      // Packed varints: one element per byte without its continuation bit.
      for (let at = start; at < end && !this.violation;) {
        const [value, next] = this.varint(at);
        if (next > end) throw malformed(`${rule.field} runs past its end`);
        this.scalar(rule, value);
        at = next;
      }
    }
  }

  count(rule: { field: string; limit: Limit }, n: number): void {
    const total = (this.counts.get(rule.field) ?? 0) + n;
    this.counts.set(rule.field, total);
    const limit = rule.limit(this.limits);
    if (total > limit && !this.violation) this.violation = fieldLimit(rule.field, total, limit, 'entries');
  }

  checkElements(): void {
    if (this.elements > this.limits.tensorElements && !this.violation) {
      this.violation = fieldLimit('tensor.shape', this.elements, this.limits.tensorElements, 'elements');
    }
  }
}

/**
 * Walks a Frame's wire bytes: the first field over its limit (DYNASPLIT_ERR_FIELD_LIMIT) and the
 * request id when it is within its own. Throws DYNASPLIT_ERR_BAD_FRAME when the bytes are not a
 * protobuf message at all.
 */
export function checkFrameWire(bytes: Uint8Array, limits: FrameLimits): WireCheck {
  const walk = new Walk(bytes, limits);
  walk.message(0, bytes.length, FRAME);
  return { requestId: walk.requestId, violation: walk.violation };
}

/** The numbers of a decoded frame: finite and within the limits (nowMs: the node's clock, ms since the epoch). */
export function checkFrameNumbers(frame: Frame, limits: FrameLimits, nowMs: number): void {
  const within = (field: string, value: number, low: number, high: number, exclusiveLow = false) => {
    if (!Number.isFinite(value) || value < low || (exclusiveLow && value === low) || value > high) {
      throw new DynasplitError(ErrorCodes.FIELD_LIMIT, `${field} is ${value}; it must be a finite number ${exclusiveLow ? '>' : '>='} ${low} and <= ${high}`, {
        details: { field, limit: high },
      });
    }
  };
  within('budget_ms', frame.budget_ms, 0, limits.maxBudgetMs, true);
  if (frame.capture_at_ms > nowMs + limits.maxClockSkewMs && Number.isFinite(frame.capture_at_ms)) {
    const ahead = frame.capture_at_ms - nowMs;
    throw new DynasplitError(ErrorCodes.FIELD_LIMIT,
      `capture_at_ms is ${frame.capture_at_ms}, ${(ahead / 1000).toFixed(1)} s ahead of this edge node's clock (at most ${limits.maxClockSkewMs / 1000} s is taken): the sensor's clock is ahead; synchronise the clocks (NTP)`,
      { details: { field: 'capture_at_ms', limit: nowMs + limits.maxClockSkewMs, aheadMs: ahead } });
  }
  within('capture_at_ms', frame.capture_at_ms, 0, nowMs + limits.maxClockSkewMs, true);
  within('accuracy_floor', frame.accuracy_floor, 0, 1);
  const c = frame.configuration;
  if (c) {
    within('configuration.edge_threads', Number(c.edge_threads ?? 0), 0, limits.maxThreads);
    within('configuration.edge_frequency_mhz', Number(c.edge_frequency_mhz ?? 0), 0, limits.maxFrequencyMhz);
  }
}

function fieldLimit(field: string, value: number, limit: number, unit: string): DynasplitError {
  return new DynasplitError(ErrorCodes.FIELD_LIMIT, `frame field ${field} has ${value} ${unit}; the limit is ${limit}`, { details: { field, [unit]: value, limit } });
}

function malformed(why: string): DynasplitError {
  return new DynasplitError(ErrorCodes.BAD_FRAME, `frame cannot be decoded: ${why}`);
}
