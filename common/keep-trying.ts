/**
 * Trying a connection again until it is made, in the background: what a node does for a server it
 * can serve without for a while (its broker for announcements and policies, an edge's cloud).
 */
import { isDynasplitError } from './errors.ts';

/** ms before the second try; each later wait doubles, up to MAX_RETRY_MS. */
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;

export interface KeepTryingOptions {
  /** ms before the second try (default FIRST_RETRY_MS); each later wait doubles, up to 30 s. */
  retryMs?: number;
  /** true: wait before the first try too (a caller that has just tried once itself). */
  waitFirst?: boolean;
  /** Called after each failed try (`tries` counts them from 1) that will be tried again. */
  failed?(err: unknown, tries: number, waitMs: number): void;
}

export interface KeepTrying<T> {
  /** What the successful try gave; undefined once stopped, or at a failure no retry fixes (a DynasplitError not retryable), which it rejects with. */
  readonly result: Promise<T | undefined>;
  /** Stops waiting; a try under way still settles `result` with what it gives. */
  stop(): void;
}

/** Calls `attempt` until it resolves, is refused for good, or `stop()` is called. */
export function keepTrying<T>(attempt: (tries: number) => Promise<T>, options: KeepTryingOptions = {}): KeepTrying<T> {
  let stopped = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const pause = (ms: number) => new Promise<void>((resolve) => {
    if (stopped) return resolve();
    wake = resolve;
    timer = setTimeout(resolve, ms);
  });
  const result = (async () => {
    let wait = options.retryMs ?? FIRST_RETRY_MS;
    for (let tries = 1; ; tries++) {
      if (tries > 1 || options.waitFirst) {
        await pause(wait);
        wait = Math.min(wait * 2, MAX_RETRY_MS);
      }
      if (stopped) return undefined;
      try {
        return await attempt(tries);
      } catch (err) {
        if (isDynasplitError(err) && !err.retryable) throw err;
        options.failed?.(err, tries, wait);
      }
    }
  })();
  return {
    result,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      wake?.();
    },
  };
}
