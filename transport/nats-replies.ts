/**
 * The NATS transport's request/reply for tail requests, over one reply subscription per connection
 * (docs/protocol.md, "NATS").
 *
 * nats.js's `request()` builds, per request, a deferred, a timer promise raced against it, and on
 * every successful reply a RequestError("cancelled") it throws away (RequestOne.cancel, lib/request.js
 * in @nats-io/nats-core 3.4). Here a request is one entry in a Map and one timer (the edge's CPU per
 * 1 KB request: 235-293 against 319 µs one at a time, 54-58 against 73-76 µs with 16 in flight;
 * docs/performance.md, "The messaging legs"). One wildcard subscription `<inbox>.*`, made with the
 * first request (in the same outbound write as the first PUB, so the server has it first) and sent
 * again by nats.js after every reconnect, as all of its subscriptions; a token per request, a
 * counter, so a reply that comes after its request timed out finds nothing and is dropped.
 *
 * Outcomes are nats.js's own errors, as its `request()` would give them, for the transport to map:
 *  - the server's 503 status message (no responders: nobody subscribes to the subject; nats.js asks
 *    for it in its CONNECT) rejects with NoRespondersError;
 *  - no reply within the timeout: TimeoutError;
 *  - a PUB the server refuses (permission violation, reported on the connection's status: `refused`):
 *    the oldest request waiting on that subject, as nats.js does, with that error;
 *  - the reply subscription refused or closed (connection closed): every request waiting, with its
 *    error or ClosedConnectionError; the next request subscribes again.
 */
import {
  ClosedConnectionError, createInbox, NoRespondersError, TimeoutError, type Msg, type MsgHdrs, type NatsConnection, type Payload, type Subscription,
} from '@nats-io/transport-node';

interface Waiting {
  subject: string;
  resolve(msg: Msg): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class ReplyInbox {
  readonly #nc: NatsConnection;
  readonly #waiting = new Map<string, Waiting>();
  /** `<inbox>.`, the reply subjects' common part */
  readonly #prefix: string;
  #sub: Subscription | undefined;
  #next = 0;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
    // The connection's own inbox prefix, if it was given one (subject permissions may require it).
    this.#prefix = `${createInbox((nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix)}.`;
  }

  /** Requests waiting for their reply. */
  get size(): number {
    return this.#waiting.size;
  }

  /**
   * Publishes `data` on `subject` with `headers` (if any) and a reply subject of this inbox; resolves with the
   * reply. Throws what nats.js's subscribe and publish throw (a closed or draining connection).
   */
  request(subject: string, data: Payload, headers: MsgHdrs | undefined, timeoutMs: number): Promise<Msg> {
    this.#subscribe();
    const token = (this.#next++).toString(36);
    const reply = this.#wait(token, subject, timeoutMs);
    try {
      this.#nc.publish(subject, data, { reply: this.#prefix + token, headers });
    } catch (err) {
      this.#take(token)?.reject(err as Error);
    }
    return reply;
  }

  /** The server refused a PUB on `err.subject` (a permission violation): the oldest request waiting on it fails. */
  refused(err: Error & { subject?: string }): void {
    for (const [token, waiting] of this.#waiting) {
      if (waiting.subject !== err.subject) continue;
      this.#take(token);
      waiting.reject(err);
      return;
    }
  }

  /** Every request waiting fails with `err` at once. */
  rejectAll(err: Error): void {
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  /** Fails what is waiting with `err` and removes the subscription (the connection stays as it is). */
  close(err: Error): void {
    this.rejectAll(err);
    const sub = this.#sub;
    this.#sub = undefined;
    if (sub && !sub.isClosed() && !this.#nc.isClosed()) sub.unsubscribe();
  }

  /**
   * The promise of the reply to `token`, and its timer. Apart from `request` so that no closure that
   * lives until the reply holds the body: once published, a large one is garbage at once (young
   * generation) instead of surviving into the old generation until the reply.
   */
  #wait(token: string, subject: string, timeoutMs: number): Promise<Msg> {
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => this.#take(token)?.reject(new TimeoutError()), timeoutMs);
      this.#waiting.set(token, { subject, resolve, reject, timer });
    });
  }

  #subscribe(): void {
    if (this.#sub) return;
    const sub = this.#nc.subscribe(`${this.#prefix}*`, {
      // An error (the server refused the subscription) closes it: handled below, with the cause.
      callback: (err, msg) => { if (!err) this.#reply(msg); },
    });
    this.#sub = sub;
    void sub.closed.then((err) => {
      if (this.#sub !== sub) return; // closed by close(), which failed what was waiting
      this.#sub = undefined;
      this.rejectAll(err ?? new ClosedConnectionError());
    });
  }

  #reply(msg: Msg): void {
    const waiting = this.#take(msg.subject.slice(this.#prefix.length));
    if (!waiting) return; // timed out, or failed with its connection
    if (msg.data.length === 0 && msg.headers?.code === 503) waiting.reject(new NoRespondersError(waiting.subject));
    else waiting.resolve(msg);
  }

  #take(token: string): Waiting | undefined {
    const waiting = this.#waiting.get(token);
    if (!waiting) return undefined;
    this.#waiting.delete(token);
    clearTimeout(waiting.timer);
    return waiting;
  }
}
