/**
 * The TensorTransport contract (transport/tensor-transport.ts) as a test suite that every
 * implementation runs against a real server: nats-transport.test.ts, mqtt-transport.test.ts.
 * Each test gets fresh transports from `setup` and a unique model name and group, so tests never
 * see each other's messages.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { encodeTensor, decodeTensor } from '../../codec/index.ts';
import { DynasplitError, ErrorCodes } from '../../common/index.ts';
import type { TailReply, TailRequest, TailRequestProperties } from '../../schemas/index.ts';
import type { TailHandler, TensorTransport } from '../../transport/index.ts';
import { seededRandom, uniformArray } from '../helpers/random.ts';

export interface ContractPair {
  edge: TensorTransport;
  cloud: TensorTransport;
  /** A second worker, on its own connection, for the load-sharing case. */
  cloud2?: TensorTransport;
  /**
   * Puts `bytes` on the request subject/topic of `model` the way a foreign client would, bypassing
   * the transport; resolves with the worker's reply where the protocol has a way back (NATS).
   */
  sendGarbage(model: string, bytes: Uint8Array): Promise<TailReply | undefined>;
  teardown(): Promise<void>;
}

/** The largest VGG16 cut: fp32 [1, 64, 224, 224] = 12,845,056 bytes. */
export const VGG16_EARLY_SHAPE = [1, 64, 224, 224];
const TIMEOUT_MS = 10_000;

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A TailRequest for `model` carrying an fp32 tensor of `data` in `shape`. */
export function makeRequest(model: string, requestId: string, data: Float32Array, shape = [data.length]): TailRequestProperties {
  return {
    request_id: requestId,
    model,
    cut: 'features.pool1',
    tensor: encodeTensor({ name: 'features.pool1', shape, data }, 'fp32'),
    deadline_at_ms: Date.now() + 60_000,
    edge_id: 'edge-a',
    sent_at_ms: Date.now(),
    cloud_accelerator: 'cpu',
  };
}

/** Answers with the request's own tensor as output. */
const echo: TailHandler = async (request) => ({ output: request.tensor, worker_id: 'echo' });

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

async function expectCode(promise: Promise<unknown>, codes: string[]): Promise<DynasplitError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DynasplitError);
  expect(codes).toContain((err as DynasplitError).code);
  return err as DynasplitError;
}

export function describeTransportContract(name: string, setup: () => Promise<ContractPair>): void {
  describe(`TensorTransport contract: ${name}`, () => {
    async function pair(): Promise<ContractPair> {
      const p = await setup();
      onTestFinished(() => p.teardown());
      return p;
    }

    it('round trip: the worker sees the request as sent, the edge gets the reply as returned', async () => {
      const { edge, cloud } = await pair();
      const model = uniqueName('m');
      let seen: TailRequest | undefined;
      await cloud.serve(async (request) => {
        seen = request;
        const logits = encodeTensor({ name: 'logits', shape: [1, 3], data: new Float32Array([0.5, -1, 2]) }, 'fp32');
        return { output: logits, worker_id: 'w-1', compute_ms: 1.5, queue_ms: 0.25 };
      }, { models: [model], group: uniqueName('g') });
      const request = makeRequest(model, 'r-1', new Float32Array([1, 2, 3, 4]), [1, 4]);
      const reply = await edge.request(request, { timeoutMs: TIMEOUT_MS });

      expect(reply.request_id).toBe('r-1');
      expect(reply.error).toBeFalsy();
      expect(reply).toMatchObject({ worker_id: 'w-1', compute_ms: 1.5, queue_ms: 0.25 });
      expect(reply.received_at_ms).toBeGreaterThan(0);
      expect(decodeTensor(reply.output!)).toEqual({ name: 'logits', shape: [1, 3], data: new Float32Array([0.5, -1, 2]) });
      expect(seen).toMatchObject({
        request_id: 'r-1', model, cut: 'features.pool1', edge_id: 'edge-a', cloud_accelerator: 'cpu',
        deadline_at_ms: request.deadline_at_ms, sent_at_ms: request.sent_at_ms,
      });
      expect(decodeTensor(seen!.tensor!)).toEqual({ name: 'features.pool1', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) });
    });

    it('answers 200 concurrent requests, each to its own caller', async () => {
      const { edge, cloud } = await pair();
      const model = uniqueName('m');
      const random = seededRandom(200);
      await cloud.serve(async (request) => {
        await new Promise((resolve) => setTimeout(resolve, random() * 5)); // replies leave out of order
        return { output: request.tensor, request_id: request.request_id };
      }, { models: [model], group: uniqueName('g') });
      const replies = await Promise.all(Array.from({ length: 200 }, (_, i) =>
        edge.request(makeRequest(model, `r-${i}`, new Float32Array([i, -i])), { timeoutMs: TIMEOUT_MS })));
      replies.forEach((reply, i) => {
        expect(reply.request_id).toBe(`r-${i}`);
        expect(Array.from(decodeTensor(reply.output!).data)).toEqual([i, -i]);
      });
    });

    it('shares the load between two workers of one group, each request handled once', async (ctx) => {
      const { edge, cloud, cloud2 } = await pair();
      if (!cloud2) ctx.skip();
      const model = uniqueName('m');
      const group = uniqueName('g');
      const seen: string[][] = [[], []];
      const worker = (k: number): TailHandler => async (request) => {
        seen[k]!.push(request.request_id);
        return { output: request.tensor, worker_id: `w-${k}` };
      };
      await cloud.serve(worker(0), { models: [model], group });
      await cloud2!.serve(worker(1), { models: [model], group });
      const ids = Array.from({ length: 100 }, (_, i) => `r-${i}`);
      const replies = await Promise.all(ids.map((id) => edge.request(makeRequest(model, id, new Float32Array([1])), { timeoutMs: TIMEOUT_MS })));

      expect(seen[0]!.length).toBeGreaterThan(0);
      expect(seen[1]!.length).toBeGreaterThan(0);
      expect([...seen[0]!, ...seen[1]!].sort()).toEqual([...ids].sort()); // all, and none twice
      for (const reply of replies) expect(seen[reply.worker_id === 'w-0' ? 0 : 1]).toContain(reply.request_id);
    });

    it('carries a 12.8 MB tensor (fp32 [1,64,224,224]) both ways byte-exact', async () => {
      const { edge, cloud } = await pair();
      const model = uniqueName('m');
      await cloud.serve(echo, { models: [model], group: uniqueName('g') });
      const data = uniformArray(seededRandom(12), 64 * 224 * 224);
      const request = makeRequest(model, 'big', data, VGG16_EARLY_SHAPE);
      const reply = await edge.request(request, { timeoutMs: 30_000 });

      expect(reply.error).toBeFalsy();
      expect(reply.output!.shape).toEqual(VGG16_EARLY_SHAPE);
      expect(reply.output!.data!.byteLength).toBe(12_845_056);
      expect(sameBytes(reply.output!.data!, request.tensor!.data!)).toBe(true);
    });

    it('rejects a request nobody serves with TIMEOUT or NO_WORKERS within the timeout', async () => {
      const { edge } = await pair();
      const started = performance.now();
      const err = await expectCode(edge.request(makeRequest(uniqueName('m'), 'r', new Float32Array([1])), { timeoutMs: 500 }),
        [ErrorCodes.TIMEOUT, ErrorCodes.NO_WORKERS]);
      expect(err.retryable).toBe(true);
      expect(performance.now() - started).toBeLessThan(500 + 1_500);
    });

    it('turns a throwing handler into a reply with ErrorInfo, keeping a DynasplitError code and retryable, naming the worker', async () => {
      const { edge, cloud } = await pair();
      const model = uniqueName('m');
      await cloud.serve(async (request) => {
        if (request.request_id === 'coded') throw new DynasplitError(ErrorCodes.MEMORY_BUDGET, 'no room', { retryable: true });
        throw new Error('boom');
      }, { models: [model], group: uniqueName('g'), workerId: 'w-contract' });
      const coded = await edge.request(makeRequest(model, 'coded', new Float32Array([1])), { timeoutMs: TIMEOUT_MS });
      const plain = await edge.request(makeRequest(model, 'plain', new Float32Array([1])), { timeoutMs: TIMEOUT_MS });

      expect(coded.request_id).toBe('coded');
      expect(coded.error).toMatchObject({ code: ErrorCodes.MEMORY_BUDGET, message: 'no room', retryable: true });
      expect(coded.worker_id).toBe('w-contract');
      expect(plain.request_id).toBe('plain');
      expect(plain.error).toMatchObject({ code: ErrorCodes.INFERENCE, message: 'boom', retryable: false });
      expect(plain.worker_id).toBe('w-contract');
    });

    it('survives garbage on the request subject/topic and keeps serving', async () => {
      const { edge, cloud, sendGarbage } = await pair();
      const model = uniqueName('m');
      await cloud.serve(echo, { models: [model], group: uniqueName('g') });
      // 0xff...: an invalid protobuf wire type; empty: a valid but empty TailRequest (no tensor).
      for (const garbage of [new Uint8Array(64).fill(0xff), new Uint8Array(0)]) {
        const reply = await sendGarbage(model, garbage);
        if (reply) expect([ErrorCodes.BAD_FRAME, ErrorCodes.BAD_TENSOR]).toContain(reply.error?.code);
      }
      const reply = await edge.request(makeRequest(model, 'after', new Float32Array([7])), { timeoutMs: TIMEOUT_MS });
      expect(reply.request_id).toBe('after');
      expect(reply.error).toBeFalsy();
    });

    it('serving.close() answers the requests already handed over, then takes no more', async () => {
      const { edge, cloud } = await pair();
      const model = uniqueName('m');
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      let started: () => void = () => undefined;
      const handed = new Promise<void>((resolve) => (started = resolve));
      const serving = await cloud.serve(async (request) => {
        started();
        await held;
        return { output: request.tensor };
      }, { models: [model], group: uniqueName('g') });
      const first = edge.request(makeRequest(model, 'in-flight', new Float32Array([1])), { timeoutMs: TIMEOUT_MS });
      await handed;
      const closed = serving.close();
      release();
      await closed;
      expect((await first).request_id).toBe('in-flight');
      await expectCode(edge.request(makeRequest(model, 'late', new Float32Array([1])), { timeoutMs: 300 }),
        [ErrorCodes.TIMEOUT, ErrorCodes.NO_WORKERS]);
    });

    it('close() is idempotent, rejects waiting and later requests with CLOSED', async () => {
      const { edge, cloud } = await pair();
      const model = uniqueName('m');
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      onTestFinished(release); // the worker's close waits for its handler
      let arrived: () => void = () => undefined;
      const inHandler = new Promise<void>((resolve) => (arrived = resolve));
      await cloud.serve(async (request) => {
        arrived();
        await held;
        return { output: request.tensor };
      }, { models: [model], group: uniqueName('g') });
      const waiting = expectCode(edge.request(makeRequest(model, 'waiting', new Float32Array([1])), { timeoutMs: TIMEOUT_MS }), [ErrorCodes.CLOSED]);
      await inHandler; // the request is out and held by the worker: close() finds it waiting
      await Promise.all([edge.close(), edge.close()]);
      await edge.close();
      await waiting;
      await expectCode(edge.request(makeRequest(model, 'after', new Float32Array([1])), { timeoutMs: 1_000 }), [ErrorCodes.CLOSED]);
      await expectCode(edge.serve(echo), [ErrorCodes.CLOSED]);
      release();
      await cloud.close();
      await cloud.close();
      await expectCode(cloud.serve(echo), [ErrorCodes.CLOSED]);
    });
  });
}
