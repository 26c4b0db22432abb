/**
 * Duplicate suppression: QoS 1 delivers at least once, so a frame can arrive twice (a broker
 * redelivery, a sensor retry). A request id seen recently is not run again; if its result is known
 * it is sent again, so the sensor still gets exactly one answer per request id it sent.
 */
export type Seen = { duplicate: false } | { duplicate: true; result?: Uint8Array };

export class RecentRequests {
  /** key -> encoded result, or undefined while the request runs. Insertion order = age. */
  readonly #entries = new Map<string, Uint8Array | undefined>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Records `key` as running unless it was seen; says what is known when it was. */
  check(key: string): Seen {
    if (this.#entries.has(key)) return { duplicate: true, result: this.#entries.get(key) };
    this.#entries.set(key, undefined);
    if (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value!);
    return { duplicate: false };
  }

  done(key: string, result: Uint8Array): void {
    if (this.#entries.has(key)) this.#entries.set(key, result);
  }
}
