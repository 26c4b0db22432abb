/**
 * Fair admission between sensors. At most `slots` frames are in progress at once and at most
 * `perSensor` of them from one sensor; frames beyond wait in one queue per sensor, and a free slot
 * goes to the sensors with waiting frames in turn (round-robin over sensors, FIFO within one), so a
 * sensor flooding long-budget frames holds at most its share while the others are served. At most
 * `maxQueued` frames wait in all and `maxQueuedPerSensor` per sensor; a frame beyond either is
 * refused at once with DYNASPLIT_ERR_OVERLOADED (retryable).
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';

export interface FairQueueLimits {
  slots: number;
  perSensor: number;
  maxQueued: number;
  maxQueuedPerSensor: number;
}

export class FairQueue {
  readonly #limits: FairQueueLimits;
  readonly #activeBy = new Map<string, number>();
  /** sensor -> its waiting frames; the map's order is the round-robin ring (a served sensor moves to the end). */
  readonly #waiting = new Map<string, (() => void)[]>();
  readonly #idle: (() => void)[] = [];
  #active = 0;
  #queued = 0;

  constructor(limits: FairQueueLimits) {
    this.#limits = limits;
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#queued;
  }

  /** Why a frame of `sensor` offered now would be refused (OVERLOADED, retryable); undefined when it would be taken. */
  refusal(sensor: string): DynasplitError | undefined {
    if (this.#mayStart(sensor) && !this.#waiting.has(sensor)) return undefined;
    const mine = this.#waiting.get(sensor)?.length ?? 0;
    if (this.#queued < this.#limits.maxQueued && mine < this.#limits.maxQueuedPerSensor) return undefined;
    return new DynasplitError(ErrorCodes.OVERLOADED,
      `overloaded: ${this.#active} in progress (${this.#activeBy.get(sensor) ?? 0} of sensor ${sensor}), ${this.#queued} waiting (${mine} of it)`,
      { retryable: true, details: { sensor } });
  }

  /** Runs `task` for `sensor` when it gets a slot; rejects with OVERLOADED (without running it) when its queue is full. */
  async run<T>(sensor: string, task: () => Promise<T>): Promise<T> {
    if (!this.#mayStart(sensor) || this.#waiting.has(sensor)) {
      const refused = this.refusal(sensor);
      if (refused) throw refused;
      const mine = this.#waiting.get(sensor) ?? [];
      this.#queued++;
      await new Promise<void>((resolve) => {
        mine.push(resolve);
        this.#waiting.set(sensor, mine);
      });
    } else {
      this.#start(sensor);
    }
    try {
      return await task();
    } finally {
      this.#finish(sensor);
    }
  }

  /** Resolves when nothing runs or waits. */
  drain(): Promise<void> {
    return this.#active === 0 && this.#queued === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve));
  }

  #mayStart(sensor: string): boolean {
    return this.#active < this.#limits.slots && (this.#activeBy.get(sensor) ?? 0) < this.#limits.perSensor;
  }

  #start(sensor: string): void {
    this.#active++;
    this.#activeBy.set(sensor, (this.#activeBy.get(sensor) ?? 0) + 1);
  }

  #finish(sensor: string): void {
    this.#active--;
    const left = this.#activeBy.get(sensor)! - 1;
    if (left === 0) this.#activeBy.delete(sensor);
    else this.#activeBy.set(sensor, left);
    this.#dispatch();
    if (this.#active === 0 && this.#queued === 0) this.#idle.splice(0).forEach((resolve) => resolve());
  }

  /** Hands free slots to waiting frames: the first sensor in the ring that may start, which then moves to the ring's end. */
  #dispatch(): void {
    while (this.#active < this.#limits.slots) {
      let next: string | undefined;
      for (const sensor of this.#waiting.keys()) {
        if (this.#mayStart(sensor)) {
          next = sensor;
          break;
        }
      }
      if (next === undefined) return;
      const queue = this.#waiting.get(next)!;
      const wake = queue.shift()!;
      this.#waiting.delete(next);
      if (queue.length > 0) this.#waiting.set(next, queue);
      this.#queued--;
      this.#start(next);
      wake();
    }
  }
}
