/**
 * One error class for the whole project. Every failure that crosses a component boundary carries a
 * stable `code` (documented in docs/errors.md) so callers, logs and metrics can branch on it without
 * parsing messages.
 */
export const ErrorCodes = {
  /** Command-line or option value is invalid. */
  BAD_ARGS: 'DYNASPLIT_ERR_BAD_ARGS',
  /** A file that should exist does not. */
  FILE_NOT_FOUND: 'DYNASPLIT_ERR_FILE_NOT_FOUND',
  /** The bytes are not a valid ONNX model. */
  BAD_MODEL: 'DYNASPLIT_ERR_BAD_MODEL',
  /** A valid ONNX model that dynasplit cannot split (control flow, an input without a declared shape, ...). */
  UNSUPPORTED_MODEL: 'DYNASPLIT_ERR_UNSUPPORTED_MODEL',
  /** A symbolic dimension of a model input has no value: give it with --dim NAME=V or in the model card. */
  UNRESOLVED_DIM: 'DYNASPLIT_ERR_UNRESOLVED_DIM',
  /** A model card (NAME.card.json) is not valid JSON or declares an invalid field. */
  BAD_MODEL_CARD: 'DYNASPLIT_ERR_BAD_MODEL_CARD',
  /** An initializer points at an external-data file that is missing or too short. */
  EXTERNAL_DATA: 'DYNASPLIT_ERR_EXTERNAL_DATA',
  /** No model of that name in the zoo. */
  UNKNOWN_MODEL: 'DYNASPLIT_ERR_UNKNOWN_MODEL',
  /** A tail request comes from an edge node serving another file under the model's name (fingerprints differ). */
  MODEL_MISMATCH: 'DYNASPLIT_ERR_MODEL_MISMATCH',
  /** The named tensor is not a single-tensor cut point of the model. */
  UNKNOWN_CUT: 'DYNASPLIT_ERR_UNKNOWN_CUT',
  /** An input tensor has the wrong shape or dtype for the model. */
  BAD_INPUT: 'DYNASPLIT_ERR_BAD_INPUT',
  /** A tensor message cannot be decoded (truncated data, unknown codec, bad scales). */
  BAD_TENSOR: 'DYNASPLIT_ERR_BAD_TENSOR',
  /** The requested execution provider is not available here. */
  PROVIDER_UNAVAILABLE: 'DYNASPLIT_ERR_PROVIDER_UNAVAILABLE',
  /** Loading a model would exceed the memory budget given to the session cache. */
  MEMORY_BUDGET: 'DYNASPLIT_ERR_MEMORY_BUDGET',
  /** A frame from a sensor cannot be decoded or is invalid (wrong input shape, missing fields). */
  BAD_FRAME: 'DYNASPLIT_ERR_BAD_FRAME',
  /** A message is larger than the configured limit. */
  PAYLOAD_TOO_LARGE: 'DYNASPLIT_ERR_PAYLOAD_TOO_LARGE',
  /** A field of a message is over its limit (length, entries, or a number out of range); details name it. */
  FIELD_LIMIT: 'DYNASPLIT_ERR_FIELD_LIMIT',
  /** The sender may not ask for this (a forced configuration on a sensor's own frame topic). */
  FORBIDDEN: 'DYNASPLIT_ERR_FORBIDDEN',
  /** The node cannot write its journal (disk full, I/O error): the frame was not taken. */
  STORAGE: 'DYNASPLIT_ERR_STORAGE',
  /** A frame recovered from the journal failed at every replay allowed; it is answered and dropped. */
  REPLAY_LIMIT: 'DYNASPLIT_ERR_REPLAY_LIMIT',
  /** An unexpected exception while handling one message; the node answered it and keeps serving. */
  INTERNAL: 'DYNASPLIT_ERR_INTERNAL',
  /** The request's latency budget had already run out when it arrived. */
  EXPIRED: 'DYNASPLIT_ERR_EXPIRED',
  /** No reply within the time allowed. */
  TIMEOUT: 'DYNASPLIT_ERR_TIMEOUT',
  /** No cloud worker is listening for the request. */
  NO_WORKERS: 'DYNASPLIT_ERR_NO_WORKERS',
  /** No edge node serving the model announced itself within the time a sensor waits for one. */
  NO_EDGES: 'DYNASPLIT_ERR_NO_EDGES',
  /** A broker or messaging server failed or the connection was lost. */
  TRANSPORT: 'DYNASPLIT_ERR_TRANSPORT',
  /** The metrics store cannot take writes as configured (database or bucket missing, no right to create it, token refused); the message names the fix. */
  METRICS_STORE: 'DYNASPLIT_ERR_METRICS_STORE',
  /** A policy message cannot be decoded or is invalid. */
  BAD_POLICY: 'DYNASPLIT_ERR_BAD_POLICY',
  /** The sensor sends faster than its allowed rate; the frame was not run. */
  RATE_LIMITED: 'DYNASPLIT_ERR_RATE_LIMITED',
  /** The node's queue is full; the request was not accepted. */
  OVERLOADED: 'DYNASPLIT_ERR_OVERLOADED',
  /** The component is shutting down and takes no new work. */
  CLOSED: 'DYNASPLIT_ERR_CLOSED',
  /** The inference runtime failed for a reason not covered above. */
  INFERENCE: 'DYNASPLIT_ERR_INFERENCE',
  /** An installed dependency is a version the code that relies on its internals was not written for. */
  UNSUPPORTED_VERSION: 'DYNASPLIT_ERR_UNSUPPORTED_VERSION',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface DynasplitErrorOptions {
  cause?: unknown;
  /** Whether the same call may succeed if tried again later (a server restart, a timeout). */
  retryable?: boolean;
  /** Structured context for logs: file, cut, tensor, ... */
  details?: Record<string, unknown>;
}

export class DynasplitError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: DynasplitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DynasplitError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, retryable: this.retryable, ...this.details };
  }
}

export function isDynasplitError(err: unknown, code?: ErrorCode): err is DynasplitError {
  return err instanceof DynasplitError && (code === undefined || err.code === code);
}

/** An error's message and its causes' ("fetch failed: connect ECONNREFUSED 127.0.0.1:8086"), at most four deep. */
export function messageWithCauses(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 4; e = e.cause) parts.push(e.message);
  return parts.length > 0 ? parts.join(': ') : String(err);
}

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

/** Whether a string from the outside (a reply, a result) is one of our error codes. */
export function isErrorCode(code: string): code is ErrorCode {
  return KNOWN_CODES.has(code);
}
