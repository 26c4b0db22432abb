/**
 * Slow consumers are cut off instead of stalling everyone else.
 *
 * aedes writes each delivery with mqtt-packet's `writeToStream(packet, conn)` and, when the write
 * returns false (the socket's buffer is over its high-water mark, 16 KiB), holds the delivery's
 * callback until the socket emits 'drain' or aedes' `drainTimeout` (default 60 s) passes
 * (lib/write.js, lib/client.js waitForDrain). mqemitter lets at most `concurrency` (100) messages
 * be in flight, each until every subscriber's callback has run, so a subscriber that stops reading
 * holds every slot after ~100 messages to it: routing stops for every client until the timeout
 * (./aedes-internals.ts item 4).
 *
 * `boundOutgoing` makes the connection's `write` report room to aedes always, so no delivery waits
 * on one client, and bounds instead what may queue up: a connection holding more than
 * `maxQueueBytes` of unsent bytes, or whose unsent bytes make no progress for `drainTimeoutMs`, is
 * destroyed with the error `onViolation` returns; aedes then closes the client. QoS 0 messages to
 * it are lost; QoS 1/2 messages of a persistent session stay in its stored queue and are delivered
 * when it comes back.
 *
 * That replay, on reconnect, is paced instead (`paced`): aedes sends a stored queue one message
 * per write callback (lib/handlers/connect.js emptyQueue), and a queue larger than the bound would
 * otherwise cut the client off on every reconnect. While it lasts, live deliveries to that client
 * wait for its socket too; a client that stops reading then is cut off by aedes' drainTimeout
 * (drainTimeoutMs), the longest it can hold up routing.
 */
import type { Duplex } from 'node:stream';

/** Why a connection was cut off. */
export interface QueueViolation {
  /** 'queue-full': over maxQueueBytes; 'stalled': no byte taken for drainTimeoutMs */
  kind: 'queue-full' | 'stalled';
  /** bytes queued on the connection when it was cut off */
  queuedBytes: number;
}

export interface OutgoingLimits {
  /** bytes; the most the connection may hold written but not yet taken by the socket */
  maxQueueBytes: number;
  /** ms; how long queued bytes may make no progress */
  drainTimeoutMs: number;
  /**
   * Whether the writer paces itself now: then `write` reports the socket's real backpressure and
   * the byte bound does not apply (the writer waits for 'drain'; aedes' drainTimeout cuts a client
   * that never drains). For the replay of a session's stored queue, which could be larger than the
   * bound. Default: never.
   */
  paced?: () => boolean;
}

type Write = Duplex['write'];

/** Bounds what `conn` may hold queued; call before `aedes.handle(conn)`. */
export function boundOutgoing(conn: Duplex, limits: OutgoingLimits, onViolation: (violation: QueueViolation) => Error): void {
  const write = conn.write.bind(conn) as (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;
  /** bytes handed to `write` so far; minus writableLength: bytes the socket has taken */
  let handed = 0;
  let takenAtLastCheck = 0;
  let timer: NodeJS.Timeout | undefined;

  const cut = (kind: QueueViolation['kind']): void => {
    clearTimeout(timer);
    timer = undefined;
    if (!conn.destroyed) conn.destroy(onViolation({ kind, queuedBytes: conn.writableLength }));
  };
  const check = (): void => {
    timer = undefined;
    if (conn.destroyed || conn.writableLength === 0) return;
    const taken = handed - conn.writableLength;
    if (taken === takenAtLastCheck) {
      cut('stalled');
      return;
    }
    takenAtLastCheck = taken;
    arm();
  };
  const arm = (): void => {
    if (timer !== undefined) return;
    takenAtLastCheck = handed - conn.writableLength;
    timer = setTimeout(check, limits.drainTimeoutMs);
    timer.unref();
  };

  conn.write = function boundedWrite(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    handed += byteLength(chunk, encoding);
    const room = write(chunk, encoding, cb);
    if (limits.paced?.()) {
      if (conn.writableLength > 0) arm();
      return room;
    }
    if (conn.writableLength > limits.maxQueueBytes) cut('queue-full');
    else if (conn.writableLength > 0) arm();
    // Always "room left": aedes then never waits for 'drain' (lib/write.js); the bound above
    // is what keeps the queue finite.
    return true;
  } as Write;
  conn.once('close', () => clearTimeout(timer));
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? encoding as BufferEncoding : 'utf8');
  return (chunk as { byteLength?: number }).byteLength ?? 0;
}
