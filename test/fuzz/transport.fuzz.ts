/**
 * Transport decoders (transport/handling.ts): the TailRequest a cloud worker receives and the
 * TailReply an edge node receives, from arbitrary bytes, followed by what each side does next with
 * the tensor inside (decodeTensor).
 */
import fc from 'fast-check';
import { decodeTensor } from '../../codec/index.ts';
import { ErrorCodes } from '../../common/index.ts';
import { TailReply, TailRequest, type TailReplyProperties, type TailRequestProperties } from '../../schemas/index.ts';
// The decoders are internal to transport/ (both transports share them); they are fuzzed directly.
import { decodeReply, decodeRequest } from '../../transport/handling.ts';
import { anyString, anyTensorMessage, awkwardNumber, hostileBytes, validTensorMessage } from './arbitraries.ts';
import { attempt, check, type FuzzProperty } from './property.ts';

const REQUEST_CODES = [ErrorCodes.BAD_FRAME, ErrorCodes.BAD_TENSOR];
const REPLY_CODES = [ErrorCodes.BAD_FRAME];
const BAD_TENSOR = [ErrorCodes.BAD_TENSOR];
const CODES = new Set<string>(Object.values(ErrorCodes));

const request: fc.Arbitrary<TailRequestProperties> = fc.record({
  request_id: anyString, model: anyString, cut: anyString, tensor: anyTensorMessage, deadline_at_ms: awkwardNumber,
  edge_id: anyString, sent_at_ms: awkwardNumber, cloud_accelerator: anyString, reply_to: anyString, correlation_id: anyString,
}, { requiredKeys: [] });

const reply: fc.Arbitrary<TailReplyProperties> = fc.record({
  request_id: anyString,
  output: anyTensorMessage,
  error: fc.record({ code: fc.oneof(fc.constantFrom(...CODES), anyString), message: anyString, retryable: fc.boolean() }, { requiredKeys: [] }),
  worker_id: anyString, received_at_ms: awkwardNumber, queue_ms: awkwardNumber, compute_ms: awkwardNumber, energy_j: awkwardNumber,
  energy_source: anyString, latency_source: anyString, correlation_id: anyString,
}, { requiredKeys: [] });

const encodeRequest = (r: TailRequestProperties) => TailRequest.encode(TailRequest.create(r)).finish();
const encodeReply = (r: TailReplyProperties) => TailReply.encode(TailReply.create(r)).finish();

export const transportProperties: FuzzProperty[] = [
  {
    name: 'transport/decodeRequest: random, protobuf-shaped and mutated bytes, then the tensor',
    decoder: 'transport',
    build: () => fc.property(hostileBytes(request.map(encodeRequest)), (bytes) => {
      const out = attempt(REQUEST_CODES, () => decodeRequest(bytes));
      if (!out.ok) return;
      check(out.value instanceof TailRequest && out.value.tensor != null, 'accepted a request without a tensor');
      attempt(BAD_TENSOR, () => decodeTensor(out.value.tensor!));
    }),
  },
  {
    name: 'transport/decodeRequest: requests with valid tensors round-trip',
    decoder: 'transport',
    build: () => fc.property(request, validTensorMessage, (r, tensor) => {
      const bytes = encodeRequest({ ...r, tensor });
      const out = attempt([], () => decodeTensor(decodeRequest(bytes).tensor!));
      if (out.ok) check(out.value.shape.join() === (tensor.shape ?? []).join(), 'the tensor changed shape');
    }),
  },
  {
    name: 'transport/decodeReply: random, protobuf-shaped and mutated bytes, then the output',
    decoder: 'transport',
    build: () => fc.property(hostileBytes(reply.map(encodeReply)), (bytes) => {
      const out = attempt(REPLY_CODES, () => decodeReply(bytes));
      if (!out.ok) return;
      check(out.value instanceof TailReply, 'decodeReply returned something other than a TailReply');
      if (out.value.output) attempt(BAD_TENSOR, () => decodeTensor(out.value.output!));
    }),
  },
  {
    name: 'transport/decodeReply: the error code of an accepted reply is a DYNASPLIT_ERR_* code',
    decoder: 'transport',
    build: () => fc.property(hostileBytes(reply.map(encodeReply)), (bytes) => {
      const out = attempt(REPLY_CODES, () => decodeReply(bytes));
      if (out.ok && out.value.error?.code) check(CODES.has(out.value.error.code), `accepted error code ${JSON.stringify(out.value.error.code)}`);
    }),
  },
];
