/**
 * An emulated link in front of a real transport: each request waits as long as its bytes would take
 * on a link of the given bandwidth, plus half the round-trip time each way. Used where edge and cloud
 * share a machine (the demo, tests) so that transfer time depends on tensor size as it does on a
 * real uplink; the link can be changed at run time (a network getting slower).
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import type { TailRequestProperties } from '../schemas/index.ts';
import type { RequestOptions, ServeOptions, Serving, TailHandler, TensorTransport } from './tensor-transport.ts';

const ENVELOPE_BYTES = 256;

export interface LinkSettings {
  /** Uplink and downlink bandwidth, Mbit/s; 0 = unlimited. */
  mbps: number;
  /** Round-trip time, ms. */
  rttMs: number;
}

export interface ShapedTransport extends TensorTransport {
  link(): LinkSettings;
  setLink(link: LinkSettings): void;
}

/** ms a message of `bytes` takes one way on `link`. */
export function oneWayMs(bytes: number, link: LinkSettings): number {
  return link.rttMs / 2 + (link.mbps > 0 ? (bytes * 8) / (link.mbps * 1000) : 0);
}

export function shapeTransport(inner: TensorTransport, initial: LinkSettings): ShapedTransport {
  let current = { ...initial };
  const sleep = (ms: number) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());
  return {
    kind: inner.kind,
    link: () => ({ ...current }),
    setLink: (link) => { current = { ...link }; },
    async request(request: TailRequestProperties, options: RequestOptions) {
      const started = performance.now();
      // The tensor is nearly all of the message; the envelope's few hundred bytes are noise at any bandwidth.
      await sleep(oneWayMs((request.tensor?.data?.length ?? 0) + ENVELOPE_BYTES, current));
      const remaining = options.timeoutMs - (performance.now() - started);
      if (remaining <= 0) {
        throw new DynasplitError(ErrorCodes.TIMEOUT, `request ${request.request_id} spent its ${options.timeoutMs} ms on the link`, { retryable: true });
      }
      const reply = await inner.request(request, { timeoutMs: remaining });
      await sleep(oneWayMs(reply.output?.data?.length ?? 0, current));
      return reply;
    },
    serve: (handler: TailHandler, options?: ServeOptions): Promise<Serving> => inner.serve(handler, options),
    close: () => inner.close(),
  };
}
