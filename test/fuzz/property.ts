/**
 * What a fuzz property is, and the checks every decoder property shares. The contract being fuzzed
 * (docs/errors.md): a bad message from the outside becomes a DynasplitError with a
 * DYNASPLIT_ERR_* code: never another exception type, never a hang, never a crash.
 */
import type fc from 'fast-check';
import { DynasplitError, type ErrorCode } from '../../common/index.ts';

/** The decoders fuzzed, one `<decoder>.fuzz.ts` each; `mqtt-session` fuzzes whole MQTT sessions against live processes. */
export const DECODERS = ['frames', 'tensor', 'policy', 'csv', 'onnx', 'transport', 'schemas', 'mqtt-session'] as const;
export type Decoder = (typeof DECODERS)[number];

/** What properties may need from outside: generated zoo models. */
export interface FuzzContext {
  /** Directory holding `vgg16-tiny.onnx` and `vit-tiny.onnx` (written by test/global-setup.ts or the runner). */
  zooDir: string;
  /** Scratch directory a property may write into. */
  workDir: string;
  /** Registers what to do once the run is over (stop processes a property started, print what it saw). */
  onClose(fn: () => Promise<void>): void;
}

// fast-check types the cases of each property; the registry holds properties of any case type.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyProperty = fc.IRawProperty<any>;

export interface FuzzProperty {
  /** `<decoder>/<function>: <what is generated>`; unique. */
  name: string;
  decoder: Decoder;
  /** Cases in the test suite's short run (default SHORT_RUNS): expensive properties run fewer. */
  shortRuns?: number;
  /** The test suite's time limit for the short run, ms (default: vitest's testTimeout). */
  shortRunTimeoutMs?: number;
  /** Share of the long run's cases (default 1): an expensive property that others back up runs fewer. */
  longRunShare?: number;
  /**
   * Set while the property fails on a known bug (file:line and what goes wrong): the test suite
   * leaves it out, the long run still runs it, named `known-bug: <name>`.
   */
  knownBug?: string;
  build(ctx: FuzzContext): AnyProperty | Promise<AnyProperty>;
}

/** Cases per property in the test suite. */
export const SHORT_RUNS = 1000;

/** A decoder call slower than this fails its case: no decoder may come near a hang (ms). */
export const CASE_TIME_LIMIT_MS = 2_000;

/** How the decoder calls of a run ended: 'ok' or the error code, with counts (the long run prints them). */
export const outcomes = new Map<string, number>();
/** The slowest decoder call of a run, ms. */
export const slowest = { ms: 0 };

/** Counts one decoder call's outcome (attempt does it for coded decoders). */
export function count(outcome: string): void {
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
}

/** Marks the start of a decoder call and returns a check that fails the case if the call ran too long. */
export function startCase(): () => void {
  const started = performance.now();
  return () => {
    const ms = performance.now() - started;
    if (ms > slowest.ms) slowest.ms = ms;
    if (ms > CASE_TIME_LIMIT_MS) throw new Error(`one case took ${ms.toFixed(0)} ms (limit ${CASE_TIME_LIMIT_MS} ms): a near-hang`);
  };
}

/** The property failure for an error that is not a DynasplitError, or has a code the caller does not allow. */
export class UncodedError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'UncodedError';
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}\n${err.stack?.split('\n').slice(1, 6).join('\n') ?? ''}`;
  return `non-Error thrown: ${String(err)}`;
}

/** Fails unless `err` is a DynasplitError with one of `codes`; returns it typed. */
export function expectCoded(err: unknown, codes: readonly ErrorCode[]): DynasplitError {
  if (!(err instanceof DynasplitError)) throw new UncodedError(`uncoded error: ${describe(err)}`, err);
  if (!codes.includes(err.code)) throw new UncodedError(`unexpected code ${err.code} (allowed: ${codes.join(', ')}): ${err.message}`, err);
  if (typeof err.message !== 'string' || err.message === '') throw new UncodedError(`${err.code} without a message`, err);
  return err;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: DynasplitError };

/**
 * Runs `fn` as one fuzz case: its result, or the DynasplitError it threw with one of `codes`.
 * Anything else it throws, and a case over CASE_TIME_LIMIT_MS, fails the property.
 */
export function attempt<T>(codes: readonly ErrorCode[], fn: () => T): Outcome<T> {
  const done = startCase();
  let outcome: Outcome<T>;
  try {
    outcome = { ok: true, value: fn() };
  } catch (err) {
    outcome = { ok: false, error: expectCoded(err, codes) };
  }
  count(outcome.ok ? 'ok' : outcome.error.code);
  done();
  return outcome;
}

/** `attempt` for an async decoder. */
export async function attemptAsync<T>(codes: readonly ErrorCode[], fn: () => Promise<T>): Promise<Outcome<T>> {
  const done = startCase();
  let outcome: Outcome<T>;
  try {
    outcome = { ok: true, value: await fn() };
  } catch (err) {
    outcome = { ok: false, error: expectCoded(err, codes) };
  }
  count(outcome.ok ? 'ok' : outcome.error.code);
  done();
  return outcome;
}

/** Throws (failing the case) when `condition` is false. */
export function check(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new Error(typeof message === 'string' ? message : message());
}

/** A seed per property name (FNV-1a), so adding a property does not change the cases of the others. */
export function seedFor(name: string, base: number): number {
  let h = 0x811c9dc5 ^ base;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h | 0;
}
