/**
 * A tensor transport for an edge node whose cloud is not there yet. An edge serves without the cloud
 * (edge-only is one of its configurations, and a request whose cloud does not answer finishes on
 * the edge), so a NATS server or uplink that is down when the edge starts must not stop it from
 * starting: until the transport connects, each request is refused at once with
 * DYNASPLIT_ERR_TRANSPORT (retryable), which the edge answers by running the tail itself, and the
 * connection is tried again in the background (common/keep-trying.ts: after 1 s, doubling up to
 * 30 s). Once connected, the transport reconnects by itself (nats-transport.ts). A failure that
 * trying again will not fix (refused credentials, a bad option) fails the start, or, met later,
 * ends the tries with an error in the log.
 */
import { DynasplitError, ErrorCodes, isDynasplitError, keepTrying, type Logger } from '../common/index.ts';
import type { TensorTransport } from './tensor-transport.ts';

export interface ConnectLaterOptions {
  kind: TensorTransport['kind'];
  /** Where it connects, for the log and the errors: "NATS at nats://...". */
  target: string;
  /** ms before the second try (default 1 s); doubles up to 30 s. */
  retryMs?: number;
}

/**
 * `connect()` now; when it fails with a retryable error, a transport that keeps trying in the
 * background and refuses requests until it has connected. Rejects as `connect()` does otherwise.
 */
export async function connectLater(connect: () => Promise<TensorTransport>, options: ConnectLaterOptions, logger: Pick<Logger, 'info' | 'warn' | 'error'>): Promise<TensorTransport> {
  try {
    return await connect();
  } catch (err) {
    if (!isDynasplitError(err) || !err.retryable) throw err;
    logger.warn({ err: err.message }, `cannot reach ${options.target}: serving without the cloud (requests finish on the edge) and trying again`);
  }
  let inner: TensorTransport | undefined;
  let closed = false;
  const trying = keepTrying(async (tries) => {
    const transport = await connect();
    if (closed) {
      await transport.close();
      return undefined;
    }
    inner = transport;
    logger.info({ tries: tries + 1 }, `connected to ${options.target}`);
    return transport;
  }, { retryMs: options.retryMs, waitFirst: true });
  const settled = trying.result.catch((err: Error) => {
    logger.error({ err: err.message }, `cannot connect to ${options.target}; not trying again: requests finish on the edge`);
  });
  const refusal = () => (closed
    ? new DynasplitError(ErrorCodes.CLOSED, 'transport closed')
    : new DynasplitError(ErrorCodes.TRANSPORT, `not connected to ${options.target} yet`, { retryable: true }));
  return {
    kind: options.kind,
    request: (request, requestOptions) => (inner ? inner.request(request, requestOptions) : Promise.reject(refusal())),
    serve: (handler, serveOptions) => (inner ? inner.serve(handler, serveOptions) : Promise.reject(refusal())),
    close: async () => {
      closed = true;
      trying.stop();
      await settled;
      await inner?.close();
    },
  };
}
