/**
 * Wall-clock time to the sub-millisecond, for latencies measured across processes on one host (a
 * frame's capture stamp against its arrival at the edge node). `Date.now()` moves in whole
 * milliseconds; `performance.timeOrigin + performance.now()` has microseconds but follows the
 * monotonic clock, which drifts from the wall clock by seconds a day as NTP slews it (a deadline
 * computed from it would drift too). So: the monotonic clock plus an offset to the wall clock, the
 * largest `Date.now() - performance.now()` seen (Date.now() truncates, so every sample is at most
 * the true offset, and the largest is within a fraction of a millisecond of it), sampled again from
 * scratch every RESAMPLE_MS so that it follows the wall clock's slew and steps.
 */

/** ms between fresh starts of the offset. */
const RESAMPLE_MS = 10_000;

export class WallClock {
  #offset = -Infinity;
  #since = -Infinity;

  constructor(private readonly monotonic = () => performance.now(), private readonly wall = () => Date.now()) {}

  /** ms since the epoch, within 1 ms of `Date.now()`'s true value, with the monotonic clock's resolution. */
  now(): number {
    return this.at(this.monotonic());
  }

  /** The wall-clock time of `mono`, a reading of the monotonic clock taken a moment ago (performance.now()). */
  at(mono: number): number {
    // The wall clock first, then the monotonic one: a process preempted between the two readings
    // then takes a sample below the true offset, which the largest-sample rule ignores. In the other
    // order such a sample lies above it by the time the process was away (milliseconds on a loaded
    // host), and the largest-sample rule kept it until the next resample: this process's wall clock
    // then read ahead of the others' for up to RESAMPLE_MS.
    const wall = this.wall();
    const now = this.monotonic();
    const offset = wall - now;
    if (now - this.#since >= RESAMPLE_MS) {
      this.#since = now;
      this.#offset = offset;
    } else if (offset > this.#offset) {
      this.#offset = offset;
    }
    return mono + this.#offset;
  }
}

const shared = new WallClock();

/** The process's WallClock: wall-clock ms with sub-millisecond resolution. */
export function wallClockMs(): number {
  return shared.now();
}

/** The wall-clock time of a `performance.now()` reading of this process (see WallClock.at). */
export function wallClockAt(performanceNowMs: number): number {
  return shared.at(performanceNowMs);
}
