/**
 * Bounded work: at most `concurrency` tasks run at once and at most `maxQueued` wait for a slot. A
 * task offered to a full limiter is refused at once with DYNASPLIT_ERR_OVERLOADED, so a node under
 * overload answers quickly instead of growing a queue without bound.
 */
import { DynasplitError, ErrorCodes } from './errors.ts';

/** A Limiter's slot, held until released. */
export interface Slot {
  /** Gives the slot back; calls after the first do nothing. */
  release(): void;
}

class LimiterSlot implements Slot {
  #release: (() => void) | undefined;

  constructor(release: () => void) {
    this.#release = release;
  }

  release(): void {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }
}

export class Limiter {
  readonly #concurrency: number;
  readonly #maxQueued: number;
  readonly #waiting: (() => void)[] = [];
  readonly #idle: (() => void)[] = [];
  #active = 0;

  constructor(concurrency: number, maxQueued: number) {
    this.#concurrency = concurrency;
    this.#maxQueued = maxQueued;
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /** Runs `task` when a slot is free; rejects with OVERLOADED (without running it) when the queue is full. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    const slot = await this.acquire();
    try {
      return await task();
    } finally {
      slot.release();
    }
  }

  /**
   * A slot, once one is free, for work that holds it across steps and gives it back itself (at most
   * once: a second `release()` does nothing); rejects with OVERLOADED when the queue is full.
   */
  async acquire(): Promise<Slot> {
    if (this.#active >= this.#concurrency) {
      if (this.#waiting.length >= this.#maxQueued) {
        throw new DynasplitError(ErrorCodes.OVERLOADED, `overloaded: ${this.#active} running, ${this.#waiting.length} waiting`, { retryable: true });
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#active++;
    }
    return new LimiterSlot(this.#release);
  }

  readonly #release = (): void => {
    const next = this.#waiting.shift();
    if (next) {
      next(); // the slot passes straight to the next task: #active stays the same
    } else {
      this.#active--;
      if (this.#active === 0) this.#idle.splice(0).forEach((resolve) => resolve());
    }
  };

  /** Resolves when nothing runs or waits. */
  drain(): Promise<void> {
    return this.#active === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve));
  }
}
