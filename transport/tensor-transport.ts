/**
 * The contract between edge nodes and cloud workers: a tail request goes out, exactly one reply (or
 * a coded error) comes back. Implementations: NATS request/reply in a queue group
 * (nats-transport.ts) and MQTT request/response topics through the broker (mqtt-transport.ts). Both
 * pass the same contract suite (test/integration/transport-contract.ts).
 */
import type { TailReply, TailReplyProperties, TailRequest, TailRequestProperties } from '../schemas/index.ts';

export interface RequestOptions {
  /** ms to wait for the reply before rejecting with DYNASPLIT_ERR_TIMEOUT. */
  timeoutMs: number;
}

/** Handles one tail request on the cloud side; its reply is sent back to the requester. */
export type TailHandler = (request: TailRequest) => Promise<TailReplyProperties>;

export interface ServeOptions {
  /** Models to serve; default: every model. */
  models?: string[];
  /** Shared-subscription / queue group; default CLOUD_GROUP. Workers in one group share the load. */
  group?: string;
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
   * where the transport can tell), DYNASPLIT_ERR_TRANSPORT (connection trouble).
   * Tensors of any size travel; none are dropped for being larger than a server's message limit.
   */
  request(request: TailRequestProperties, options: RequestOptions): Promise<TailReply>;
  /** Cloud side: receive tail requests and answer them with `handler`. */
  serve(handler: TailHandler, options?: ServeOptions): Promise<Serving>;
  /** Closes subscriptions and, if the transport opened it, the connection. Idempotent. */
  close(): Promise<void>;
}
