/** Helpers shared by the components' options.ts files. */
import { DynasplitError, ErrorCodes } from './errors.ts';

/** Drops keys whose value is undefined, so `{ ...defaults, ...stripUndefined(partial) }` keeps defaults. */
export function stripUndefined<T extends object>(partial: T): Partial<T> {
  return Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** ms: the longest a Node.js timer waits; a longer one fires after 1 ms (with a TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Throws BAD_ARGS naming the component unless every listed key holds a positive integer; a key
 * ending in `Ms` (a duration, most of them waited for by a timer) at most MAX_TIMER_MS.
 */
export function requirePositiveIntegers<T extends object>(component: string, options: T, keys: (keyof T & string)[]): void {
  for (const key of keys) {
    const value = options[key];
    if (!Number.isInteger(value) || (value as number) < 1) {
      throw new DynasplitError(ErrorCodes.BAD_ARGS, `${component}: ${key} must be a positive integer, got ${String(value)}`);
    }
    if (key.endsWith('Ms') && (value as number) > MAX_TIMER_MS) {
      throw new DynasplitError(ErrorCodes.BAD_ARGS, `${component}: ${key} must be at most ${MAX_TIMER_MS} ms (24.8 days, the longest a timer waits), got ${String(value)}`);
    }
  }
}
