/**
 * Keeps onnxruntime sessions warm within a memory budget. A device with little memory cannot hold a
 * session for every split of every model, so idle sessions are released least-recently-used first
 * when a new one would exceed the budget. A session's size is estimated as the bytes of its weights
 * (onnxruntime keeps them resident; activations are transient and small beside them for batch 1).
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { loadModelFile } from './onnx/index.ts';
import { weightTotals } from './weights.ts';
import { openSession, type ModelSession, type RunnerOptions } from './runner.ts';

export interface SessionCacheOptions extends RunnerOptions {
  /** bytes; default 1 GiB */
  memoryBudgetBytes?: number;
}

export const DEFAULT_MEMORY_BUDGET_BYTES = 1024 ** 3;

/** How a session is taken from the cache: the runner's options, and whether taking it may evict others. */
export interface AcquireOptions extends RunnerOptions {
  /**
   * default true. false: a session that is not loaded yet and does not fit beside the others is
   * refused with DYNASPLIT_ERR_MEMORY_BUDGET instead of evicting an idle one (for work that must not
   * cost a request a reload, such as the edge's sampled agreement check).
   */
  evict?: boolean;
}

interface Entry {
  key: string;
  bytes: number;
  thread: string;
  session: Promise<ModelSession>;
  /** The session, once loaded. */
  ready?: ModelSession;
  leases: number;
  lastUsed: number;
}

export interface SessionLease {
  session: ModelSession;
  /** Marks the session idle again; it stays loaded until the budget needs the room. */
  release(): void;
}

export interface SessionCacheStats {
  sessions: number;
  bytes: number;
  budgetBytes: number;
  evictions: number;
  /** Sessions opened (a load after an eviction counts again). */
  loads: number;
  /** Of `sessions`, those computing in a worker thread (RunnerOptions.thread). */
  workerSessions: number;
}

/** Bytes of all stored tensors of a model file: initializers and Constant nodes. */
export function modelWeightBytes(path: string): number {
  return weightTotals(loadModelFile(path).model.graph).bytes;
}

export class SessionCache {
  readonly #entries = new Map<string, Entry>();
  readonly #options: SessionCacheOptions;
  readonly #budget: number;
  #clock = 0;
  #evictions = 0;
  #loads = 0;

  constructor(options: SessionCacheOptions = {}) {
    this.#options = options;
    this.#budget = options.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES;
  }

  async acquire(path: string, options: AcquireOptions = {}): Promise<SessionLease> {
    // Every frame comes through here twice (head, tail): the loaded case builds no merged options,
    // and its lease holds no closure.
    const key = this.#key(path, options);
    let entry = this.#entries.get(key);
    if (!entry) entry = this.#open(key, path, options);
    entry.leases++;
    entry.lastUsed = ++this.#clock;
    if (entry.ready) return new Lease(entry.ready, entry);
    try {
      return new Lease(await entry.session, entry);
    } catch (err) {
      entry.leases--;
      throw err;
    }
  }

  /** The session's identity: its file and the options it is opened with. */
  #key(path: string, options: AcquireOptions): string {
    const o = this.#options;
    return `${path}\u0000${option('threads', options, o)}\u0000${option('graphOptimizationLevel', options, o)}`
      + `\u0000${option('executionProvider', options, o)}\u0000${option('thread', options, o) ?? 'main'}`;
  }

  /** Puts a loading entry in the map, before anything is awaited; refuses with MEMORY_BUDGET what cannot fit. */
  #open(key: string, path: string, options: AcquireOptions): Entry {
    const { evict = true, ...runner } = options;
    const merged = { ...this.#options, ...runner };
    const bytes = modelWeightBytes(path);
    const details = { file: merged.label ?? path, bytes, budgetBytes: this.#budget };
    if (bytes > this.#budget) {
      throw new DynasplitError(ErrorCodes.MEMORY_BUDGET,
        `${merged.label ?? path} needs ~${mib(bytes)} MiB of weights, more than the session budget of ${mib(this.#budget)} MiB`, { details });
    }
    const usedBytes = this.stats().bytes;
    if (!evict && usedBytes + bytes > this.#budget) {
      throw new DynasplitError(ErrorCodes.MEMORY_BUDGET,
        `${merged.label ?? path} needs ~${mib(bytes)} MiB of weights, which fit in the session budget of ${mib(this.#budget)} MiB only by evicting another session`,
        { details: { ...details, usedBytes } });
    }
    // In the map before anything is awaited: a second caller of the same part (a policy's warm-up
    // beside a frame) shares this load instead of opening its own session that nothing accounts for.
    const entry: Entry = {
      key, bytes, thread: merged.thread ?? 'main', leases: 0, lastUsed: 0,
      session: this.#makeRoom(bytes).then(() => { this.#loads++; return openSession(path, merged); }),
    };
    this.#entries.set(key, entry);
    entry.session.then((session) => { entry.ready = session; }, () => { if (this.#entries.get(key) === entry) this.#entries.delete(key); });
    return entry;
  }

  stats(): SessionCacheStats {
    const bytes = [...this.#entries.values()].reduce((s, e) => s + e.bytes, 0);
    const workerSessions = [...this.#entries.values()].filter((e) => e.thread === 'worker').length;
    return { sessions: this.#entries.size, bytes, budgetBytes: this.#budget, evictions: this.#evictions, loads: this.#loads, workerSessions };
  }

  /** Releases every session; leases still held become invalid. Idempotent. */
  async close(): Promise<void> {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.allSettled(entries.map(async (e) => (await e.session).release()));
  }

  /**
   * Evicts idle sessions, least recently used first, until `bytes` more fit. The victims leave the map
   * before anything is awaited, so no caller can lease one while it is being released.
   */
  async #makeRoom(bytes: number): Promise<void> {
    let used = this.stats().bytes;
    const idle = [...this.#entries.values()].filter((e) => e.leases === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    const victims: Entry[] = [];
    for (const entry of idle) {
      if (used + bytes <= this.#budget) break;
      this.#entries.delete(entry.key);
      this.#evictions++;
      used -= entry.bytes;
      victims.push(entry);
    }
    // Sessions in use are never torn down under a caller; the budget is exceeded until they are released.
    await Promise.allSettled(victims.map(async (e) => (await e.session).release()));
  }
}

/** An option as `{ ...defaults, ...given }` has it (a key given as undefined included). */
function option<K extends keyof RunnerOptions>(name: K, given: RunnerOptions, defaults: RunnerOptions): RunnerOptions[K] {
  return name in given ? given[name] : defaults[name];
}

/** A session held by one caller; release() is idempotent. */
class Lease implements SessionLease {
  #entry: Entry | undefined;

  constructor(readonly session: ModelSession, entry: Entry) {
    this.#entry = entry;
  }

  release(): void {
    if (this.#entry) this.#entry.leases--;
    this.#entry = undefined;
  }
}

const mib = (bytes: number) => (bytes / 1024 ** 2).toFixed(1);
