/** Helpers shared by the components' options.ts files. */
import { DynasplitError, ErrorCodes } from './errors.ts';

/** Drops keys whose value is undefined, so `{ ...defaults, ...stripUndefined(partial) }` keeps defaults. */
export function stripUndefined<T extends object>(partial: T): Partial<T> {
  return Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Throws BAD_ARGS naming the component unless every listed key holds a positive integer. */
export function requirePositiveIntegers<T extends object>(component: string, options: T, keys: (keyof T & string)[]): void {
  for (const key of keys) {
    const value = options[key];
    if (!Number.isInteger(value) || (value as number) < 1) {
      throw new DynasplitError(ErrorCodes.BAD_ARGS, `${component}: ${key} must be a positive integer, got ${String(value)}`);
    }
  }
}
