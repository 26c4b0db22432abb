/**
 * Per-key token buckets: each key (a sensor id) may send `ratePerSecond` messages on average, with
 * bursts up to `burst`. Keys idle long enough to refill are forgotten, so the map stays bounded by
 * the number of recently active keys.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #rate: number;
  readonly #burst: number;

  /** ratePerSecond 0 = unlimited. */
  constructor(ratePerSecond: number, burst = Math.max(1, ratePerSecond)) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
  }

  /** Takes one token for `key` at time `nowMs`; false when the key is over its rate. */
  take(key: string, nowMs: number): boolean {
    if (this.#rate <= 0) return true;
    const bucket = this.#buckets.get(key) ?? { tokens: this.#burst, at: nowMs };
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((nowMs - bucket.at) / 1000) * this.#rate);
    bucket.at = nowMs;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > 10_000) this.#forgetFull(nowMs);
    return allowed;
  }

  get size(): number {
    return this.#buckets.size;
  }

  #forgetFull(nowMs: number): void {
    for (const [key, b] of this.#buckets) {
      if (b.tokens + ((nowMs - b.at) / 1000) * this.#rate >= this.#burst) this.#buckets.delete(key);
    }
  }
}
