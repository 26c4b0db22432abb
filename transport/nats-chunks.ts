/**
 * Messages larger than the NATS server's `max_payload` (default 1 MiB; a VGG16 early activation is
 * 12.8 MB) travel in chunks, pulled by the receiver (protocol: docs/protocol.md, "NATS chunking"):
 *
 * 1. The sender subscribes to a private inbox subject `S.*` and serves chunk `i` of the body as the
 *    reply to any request on `S.i`.
 * 2. It sends a small message with no body and headers naming S, the body's size and the chunk size
 *    (in place of the body: the tail request itself, or the reply to it).
 * 3. The receiver fetches the chunks by request/reply, a few at a time, and reassembles them.
 *
 * Pull rather than push: the receiver sets the pace (no slow-consumer drops on the server), a worker
 * that is not chosen by the queue group never sees a byte of the tensor, and a receiver that is gone
 * shows up as "no responders" on the next fetch instead of a stream of messages nobody reads.
 */
import { createInbox, Empty, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { MAX_MESSAGE_BYTES } from './handling.ts';

export const HEADERS = {
  requestId: 'Dynasplit-Request-Id',
  chunkSubject: 'Dynasplit-Chunk-Subject',
  /** Size of the whole body, bytes. */
  bytes: 'Dynasplit-Bytes',
  /** Size of every chunk but the last, bytes. */
  chunkBytes: 'Dynasplit-Chunk-Bytes',
} as const;

/** The NATS default, bytes, for a connection that has no server info yet. */
const DEFAULT_MAX_PAYLOAD = 1_048_576;
/** Headers of an inline message (request id) must fit beside its body under max_payload, bytes. */
const HEADER_ROOM = 4096;
/** Chunks in flight per transfer: enough to hide a round trip, few enough to leave room for others. */
const FETCH_CONCURRENCY = 4;
/** A chunk subject is one NATS subject without wildcards or whitespace. */
const SUBJECT = /^[^\s*>]+$/;

/** Where a chunked body can be fetched from, as announced in the headers. */
export interface ChunkRef {
  subject: string;
  bytes: number;
  chunkBytes: number;
}

export interface ChunkOffer {
  /** The headers announcing the body (add the request id header to them if wanted). */
  headers: MsgHdrs;
  /** Stops serving chunks; idempotent. Called on completion, timeout and error. */
  done(): void;
  /** Resolves once the offer has ended: every chunk served, `done()` called, or the ttl passed. */
  finished: Promise<void>;
}

export function maxPayload(nc: NatsConnection): number {
  return nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
}

/** Whether `bytes` can travel as the body of one message with a few headers. */
export function fitsInline(nc: NatsConnection, bytes: Uint8Array): boolean {
  return bytes.length + HEADER_ROOM <= maxPayload(nc);
}

/**
 * Serves `body` in max_payload-sized chunks on a fresh inbox subject until every chunk has been
 * served once, `done()` is called, or `ttlMs` passes (the receiver may have gone away).
 */
export function offerChunks(nc: NatsConnection, body: Uint8Array, ttlMs: number, logger: Logger): ChunkOffer {
  const chunkBytes = maxPayload(nc);
  const chunks = Math.ceil(body.length / chunkBytes);
  const subject = createInbox();
  const served = new Set<number>();
  const sub = nc.subscribe(`${subject}.*`, {
    callback: (err, msg) => {
      if (err) {
        logger.warn({ err, subject }, 'chunk subscription failed');
        return;
      }
      const index = Number(msg.subject.slice(subject.length + 1));
      if (!Number.isInteger(index) || index < 0 || index >= chunks) {
        msg.respond(Empty); // the fetcher sees a short chunk and reports BAD_FRAME
        return;
      }
      msg.respond(body.subarray(index * chunkBytes, (index + 1) * chunkBytes));
      served.add(index);
      if (served.size === chunks) done();
    },
  });
  const timer = setTimeout(() => done(), ttlMs);
  timer.unref();
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  function done(): void {
    clearTimeout(timer);
    if (!sub.isClosed()) sub.unsubscribe();
    finish();
  }
  const h = headers();
  h.set(HEADERS.chunkSubject, subject);
  h.set(HEADERS.bytes, String(body.length));
  h.set(HEADERS.chunkBytes, String(chunkBytes));
  return { headers: h, done, finished };
}

/** The chunk announcement in `h`, undefined when the message carries its body inline. */
export function parseChunkRef(h: MsgHdrs | undefined): ChunkRef | undefined {
  if (h === undefined || !h.has(HEADERS.chunkSubject)) return undefined;
  const subject = h.get(HEADERS.chunkSubject);
  const bytes = Number(h.get(HEADERS.bytes));
  const chunkBytes = Number(h.get(HEADERS.chunkBytes));
  const sizeOk = (n: number): boolean => Number.isSafeInteger(n) && n > 0 && n <= MAX_MESSAGE_BYTES;
  if (!SUBJECT.test(subject) || subject.endsWith('.') || !sizeOk(bytes) || !sizeOk(chunkBytes)) {
    throw new DynasplitError(ErrorCodes.BAD_FRAME, 'malformed chunk headers', {
      details: { subject, bytes: h.get(HEADERS.bytes), chunkBytes: h.get(HEADERS.chunkBytes) },
    });
  }
  return { subject, bytes, chunkBytes };
}

/**
 * Fetches and reassembles a chunked body, FETCH_CONCURRENCY chunks at a time, within `timeoutMs`.
 * Rejects with the NATS client's error (the caller maps it) or BAD_FRAME for a chunk of the wrong size.
 */
export async function fetchChunks(nc: NatsConnection, ref: ChunkRef, timeoutMs: number): Promise<Uint8Array> {
  const deadline = Date.now() + timeoutMs;
  const chunks = Math.ceil(ref.bytes / ref.chunkBytes);
  const body = new Uint8Array(ref.bytes);
  let next = 0;
  let failed = false;
  const fetchSome = async (): Promise<void> => {
    while (next < chunks && !failed) {
      const index = next++;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new DynasplitError(ErrorCodes.TIMEOUT, 'chunk transfer ran out of time', { retryable: true });
      const msg = await nc.request(`${ref.subject}.${index}`, Empty, { timeout: remaining });
      const expected = Math.min(ref.chunkBytes, ref.bytes - index * ref.chunkBytes);
      if (msg.data.length !== expected) {
        throw new DynasplitError(ErrorCodes.BAD_FRAME, `chunk ${index} has ${msg.data.length} bytes, expected ${expected}`);
      }
      body.set(msg.data, index * ref.chunkBytes);
    }
  };
  const fetchers = Array.from({ length: Math.min(FETCH_CONCURRENCY, chunks) }, () => fetchSome().catch((err: unknown) => {
    failed = true; // the other fetchers stop at their next chunk
    throw err;
  }));
  await Promise.all(fetchers);
  return body;
}
