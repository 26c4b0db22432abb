/**
 * What one turn of the event loop writes to a socket leaves in one `writev`: the first write corks
 * the stream and a `setImmediate` uncorks it. mqtt-packet corks each packet only until the next
 * tick, and both aedes (every delivery, and every PUBACK after store) and MQTT.js (every PUBACK and
 * publish) write from callbacks of their own, between which Node runs the tick queue: without this,
 * each MQTT packet costs a system call and a wakeup of its receiver. A write from a `setImmediate`
 * callback leaves one turn later.
 *
 * A chunk of FLUSH_BYTES or more flushes what is corked at once: a large payload gains nothing
 * from waiting, and corked ones went out in bursts the socket took in pieces, which cost more than
 * the system calls saved (100 KB messages, 16 in flight: 490 against 835 requests/s; see
 * docs/performance.md, "The messaging legs").
 */
import type { Writable } from 'node:stream';

/** bytes; Node's default high-water mark of a socket */
export const FLUSH_BYTES = 16 * 1024;

const COALESCED = Symbol('dynasplit.coalescedWrites');

type Write = Writable['write'];
type Coalescible = Pick<Writable, 'write' | 'cork' | 'uncork' | 'destroyed'> & { [COALESCED]?: true };

/** Wraps `stream.write` so that writes coalesce per event-loop turn; a second call does nothing. */
export function coalesceWrites(stream: Coalescible): void {
  if (stream[COALESCED]) return;
  stream[COALESCED] = true;
  const write = stream.write as (this: unknown, ...args: unknown[]) => boolean;
  let corked = false;
  const uncork = (): void => {
    if (!corked) return;
    corked = false;
    stream.uncork();
  };
  stream.write = function coalescedWrite(this: unknown, chunk: unknown, ...rest: unknown[]): boolean {
    const large = byteLength(chunk) >= FLUSH_BYTES;
    if (!corked && !large && !stream.destroyed) {
      corked = true;
      stream.cork();
      setImmediate(uncork);
    }
    const room = write.call(this, chunk, ...rest);
    if (large) uncork();
    return room;
  } as Write;
}

function byteLength(chunk: unknown): number {
  return typeof chunk === 'string' ? Buffer.byteLength(chunk) : ((chunk as { byteLength?: number }).byteLength ?? 0);
}
