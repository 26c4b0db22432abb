/**
 * The contract between edge nodes and cloud workers: a tail request goes out, exactly one reply (or
 * a coded error) comes back. Implementations: NATS request/reply in a queue group
 * (nats-transport.ts) and MQTT request/response topics through the broker (mqtt-transport.ts). Both
 * pass the same contract suite (test/integration/transport-contract.ts). Wire details and the
 * error table: docs/protocol.md.
 */
import type { TailReply, TailReplyProperties, TailRequest, TailRequestProperties } from '../schemas/index.ts';

export interface RequestOptions {
  /** ms to wait for the reply before rejecting with DYNASPLIT_ERR_TIMEOUT. */
  timeoutMs: number;
}

/**
 * Handles one tail request on the cloud side; its reply is sent back to the requester. The request
 * has been checked: it carries a tensor. A throw becomes a reply whose `error` carries the
 * DynasplitError's code and `retryable` (else DYNASPLIT_ERR_INFERENCE, not retryable);
 * `request_id`, `received_at_ms` and `worker_id` are filled in when the handler leaves them empty.
 */
export type TailHandler = (request: TailRequest) => Promise<TailReplyProperties>;

export interface ServeOptions {
  /** Models to serve; default: every model. */
  models?: string[];
  /** Shared-subscription / queue group; default CLOUD_GROUP. Workers in one group share the load. */
  group?: string;
  /** The serving worker's id, set on replies that leave it out (error replies included); default ''. */
  workerId?: string;
}

export interface Serving {
  /** Stops taking requests; requests already handed to the handler are still answered. */
  close(): Promise<void>;
}

export interface TensorTransport {
  readonly kind: 'nats' | 'mqtt';
  /**
   * Edge side. Resolves with the reply, or rejects with a DynasplitError:
   * DYNASPLIT_ERR_TIMEOUT (no reply in time), DYNASPLIT_ERR_NO_WORKERS (nobody serves the model,
   * where the transport can tell: NATS can, MQTT cannot and times out), DYNASPLIT_ERR_TRANSPORT
   * (connection trouble), DYNASPLIT_ERR_CLOSED (the transport was closed before the reply came),
   * DYNASPLIT_ERR_BAD_ARGS (no valid model name, a timeout that is not a positive number).
   * A worker's failure is not a rejection: it arrives as a reply with `error` set.
   * Tensors of any size travel; none are dropped for being larger than a server's message limit.
   */
  request(request: TailRequestProperties, options: RequestOptions): Promise<TailReply>;
  /**
   * Cloud side: receive tail requests and answer them with `handler`, which may run for many
   * requests at once. Resolves once the server or broker has the subscription. Malformed messages
   * are logged (and answered where the transport has a way back), never thrown. The MQTT transport
   * allows one serving at a time (a second rejects with DYNASPLIT_ERR_BAD_ARGS); NATS allows several.
   */
  serve(handler: TailHandler, options?: ServeOptions): Promise<Serving>;
  /** Closes subscriptions and, if the transport opened it, the connection. Idempotent. */
  close(): Promise<void>;
}
