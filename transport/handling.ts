/**
 * What both transports do the same way on either side of the link: decode and check a TailRequest
 * from the wire, run the worker's handler so that it never throws, turn failures into the ErrorInfo
 * of a TailReply, and track in-flight work so `close()` can drain it. No I/O here.
 */
import { DynasplitError, ErrorCodes, isDynasplitError, isErrorCode, type ErrorCode, type Logger } from '../common/index.ts';
import { peekStringField, TailReply, TailRequest, type ErrorInfoProperties, type TailReplyProperties } from '../schemas/index.ts';
import type { TailHandler } from './tensor-transport.ts';

/** Largest TailRequest/TailReply either transport accepts, bytes: the MQTT packet limit (256 MiB). */
export const MAX_MESSAGE_BYTES = 268_435_455;

/** Decodes a TailRequest received from the network and checks it (decodeTailRequest, checkTailRequest). */
export function decodeRequest(bytes: Uint8Array): TailRequest {
  return checkTailRequest(decodeTailRequest(bytes));
}

/** Field number of TailRequest.request_id (schemas/pipeline.proto). */
const REQUEST_ID_FIELD = 1;

/** TailRequest.request_id read from bytes that may not decode as a whole ('' when it cannot be read). */
export function peekRequestId(bytes: Uint8Array): string {
  return peekStringField(bytes, REQUEST_ID_FIELD);
}

/** The protobuf decoding alone; undecodable bytes are BAD_FRAME. */
export function decodeTailRequest(bytes: Uint8Array): TailRequest {
  try {
    return TailRequest.decode(bytes);
  } catch (err) {
    throw new DynasplitError(ErrorCodes.BAD_FRAME, `tail request cannot be decoded (${bytes.length} bytes)`, { cause: err });
  }
}

/**
 * Random bytes sometimes parse as protobuf; a request without a tensor is never a real one: BAD_TENSOR.
 * The one check of it: both transports run it before a handler sees the request.
 */
export function checkTailRequest(request: TailRequest): TailRequest {
  if (request.tensor === null || request.tensor === undefined) {
    throw new DynasplitError(ErrorCodes.BAD_TENSOR, `tail request '${request.request_id}' carries no tensor`, {
      details: { requestId: request.request_id },
    });
  }
  return request;
}

/**
 * Decodes the TailReply that answers a request; the edge side only. The one place a reply's error
 * code is normalised: every reply either transport resolves with has passed here.
 */
export function decodeReply(bytes: Uint8Array): TailReply {
  let reply: TailReply;
  try {
    reply = TailReply.decode(bytes);
  } catch (err) {
    throw new DynasplitError(ErrorCodes.BAD_FRAME, `tail reply cannot be decoded (${bytes.length} bytes)`, { cause: err });
  }
  // A code that is not one of ours (another version, a bug, a forgery) is passed on as a transport fault.
  if (reply.error?.code && !isErrorCode(reply.error.code)) {
    reply.error.message = `${reply.error.code}: ${reply.error.message}`;
    reply.error.code = ErrorCodes.TRANSPORT;
  }
  return reply;
}

/** The wire form of an error: a DynasplitError keeps its code, anything else is INFERENCE. */
export function errorInfo(err: unknown): ErrorInfoProperties {
  if (isDynasplitError(err)) return { code: err.code, message: err.message, retryable: err.retryable };
  const message = err instanceof Error ? err.message : String(err);
  return { code: ErrorCodes.INFERENCE, message, retryable: false };
}

/**
 * A reply's error as a DynasplitError (undefined when the reply has none), keeping the worker's
 * `retryable`. Its code was normalised by decodeReply: one of ours, else TRANSPORT.
 */
export function replyError(reply: Pick<TailReplyProperties, 'error' | 'worker_id'>): DynasplitError | undefined {
  const error = reply.error;
  if (!error?.code) return undefined;
  return new DynasplitError(error.code as ErrorCode, `cloud worker ${reply.worker_id ?? ''}: ${error.message ?? ''}`, {
    retryable: error.retryable === true,
    details: { workerId: reply.worker_id ?? '' },
  });
}

/**
 * A reply that carries only an error: the one place error replies are built, for a handler that
 * threw and for a request the worker could not even hand to its handler. `workerId`: the serving
 * worker (ServeOptions.workerId), '' when it did not say.
 */
export function errorReply(requestId: string, err: unknown, receivedAtMs: number, workerId = ''): TailReplyProperties {
  return { request_id: requestId, worker_id: workerId, error: errorInfo(err), received_at_ms: receivedAtMs };
}

/**
 * Runs the worker's handler. Never rejects: a throw becomes an error reply (errorReply, with its code
 * and `retryable`), so the requester gets an answer instead of waiting for its timeout. Fills
 * `request_id`, `received_at_ms` and `worker_id` when the handler leaves them out, since the edge
 * matches replies to requests by them (and names the worker in its errors).
 */
export async function runHandler(
  handler: TailHandler, request: TailRequest, receivedAtMs: number, logger: Logger, workerId = '',
): Promise<TailReplyProperties> {
  try {
    const reply = await handler(request);
    // The three fields first, then the reply's over them, then set where it left them out: fields
    // added after an object spread take V8's slow path (~2 µs a reply in Node 20; docs/performance.md).
    const filled: TailReplyProperties = { request_id: '', received_at_ms: 0, worker_id: '', ...reply };
    filled.request_id ||= request.request_id;
    filled.received_at_ms ||= receivedAtMs;
    filled.worker_id ||= workerId;
    return filled;
  } catch (err) {
    logger.warn({ err, requestId: request.request_id, model: request.model }, 'tail handler failed');
    return errorReply(request.request_id, err, receivedAtMs, workerId);
  }
}

/** Promises of work in progress, so that a close can wait for them to finish. */
export class InFlight {
  readonly #running = new Set<Promise<unknown>>();

  get size(): number {
    return this.#running.size;
  }

  /** Registers `work`; it must not reject (callers catch inside). */
  track(work: Promise<unknown>): void {
    this.#running.add(work);
    void work.finally(() => this.#running.delete(work));
  }

  /** Resolves when everything tracked so far has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#running]);
  }
}

/**
 * Requests waiting for their reply; `close()` rejects them all with CLOSED at once (and a lost
 * connection with TRANSPORT) instead of letting each run into its timeout.
 */
export class PendingRequests {
  readonly #rejects = new Set<(err: Error) => void>();

  get size(): number {
    return this.#rejects.size;
  }

  /** Races `work` against a close of the transport; `work` still cleans up after itself. */
  run<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#rejects.add(reject);
      work.then(resolve, reject).finally(() => this.#rejects.delete(reject));
    });
  }

  rejectAll(err: Error = closedError()): void {
    for (const reject of this.#rejects) reject(err);
    this.#rejects.clear();
  }
}

export function closedError(): DynasplitError {
  return new DynasplitError(ErrorCodes.CLOSED, 'the tensor transport is closed');
}

export function timeoutError(what: string, timeoutMs: number, cause?: unknown): DynasplitError {
  return new DynasplitError(ErrorCodes.TIMEOUT, `no reply to ${what} within ${Math.round(timeoutMs * 10) / 10} ms`, {
    retryable: true,
    cause,
    details: { timeoutMs },
  });
}

/** Validates RequestOptions.timeoutMs: a positive finite number of ms. */
export function checkTimeout(timeoutMs: number): number {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `timeoutMs must be a positive number of ms, got ${timeoutMs}`);
  }
  return timeoutMs;
}
