/**
 * The multi-user case (the reference design measured one user at a time): K edge devices share M
 * cloud workers. A discrete-event model over the drawn runs:
 *
 * - Requests arrive as one Poisson stream at K x rate, each at a uniformly chosen device (the
 *   superposition of K Poisson streams at `rate` each). Arrivals are seeded and the same for every
 *   strategy; each strategy runs its own copy of the system.
 * - A device runs one head at a time (FIFO): its part takes the run's edge time (table.ts: the pool's
 *   edge_compute_ms, else a share of the latency).
 * - The tensor then travels for the run's transfer time and queues FIFO for the first free of the M
 *   workers, which takes the run's cloud time. Edge-only runs never reach the cloud.
 * - latency = the recorded latency + the wait for the device + the wait for a worker. With no waits it
 *   is exactly the recorded run's, so an uncontended system reproduces the plain simulation.
 *
 * Cloud arrivals do not come in request order (heads differ in length), so they wait in a heap and are
 * handed to workers in time order once the clock (the latest request's arrival) has passed them: no
 * later request can reach the cloud earlier than it arrives. Energy is the run's: waiting costs none.
 */
import { DynasplitError, ErrorCodes, tensorRng, type Rng } from '../common/index.ts';
import type { PoolTable } from './table.ts';

export interface QueueOptions {
  /** Edge devices, >= 1. */
  edges: number;
  /** Cloud workers, >= 1. */
  workers: number;
  /** Requests per second per edge device, > 0. */
  ratePerSecond: number;
}

export function checkQueueOptions(o: QueueOptions): QueueOptions {
  const bad = (what: string) => new DynasplitError(ErrorCodes.BAD_ARGS, `queueing: ${what}`);
  if (!Number.isInteger(o.edges) || o.edges < 1) throw bad(`edges must be an integer >= 1, got ${o.edges}`);
  if (!Number.isInteger(o.workers) || o.workers < 1) throw bad(`workers must be an integer >= 1, got ${o.workers}`);
  if (!(o.ratePerSecond > 0) || !Number.isFinite(o.ratePerSecond)) throw bad(`rate must be a positive number of requests/s, got ${o.ratePerSecond}`);
  return o;
}

/** The shared arrival process: after next(), `timeMs` and `device` describe the next request. */
export class Arrivals {
  timeMs = 0;
  device = 0;
  private readonly rng: Rng;
  private readonly meanGapMs: number;

  constructor(private readonly options: QueueOptions, seed: number) {
    this.rng = tensorRng(seed, 'eval/arrivals');
    this.meanGapMs = 1000 / (options.edges * options.ratePerSecond);
  }

  next(): void {
    this.timeMs += -this.meanGapMs * Math.log(1 - this.rng.nextFloat());
    this.device = Math.floor(this.rng.nextFloat() * this.options.edges);
  }
}

/** Called when a request's latency is known: ms. */
export type Completion = (latencyMs: number, budgetMs: number, queueWaitMs: number, edgeWaitMs: number) => void;

interface Pending {
  /** When the tensor reaches the cloud, ms. */
  at: number;
  seq: number;
  row: number;
  budgetMs: number;
  edgeWaitMs: number;
}

/** One strategy's copy of the system. */
export class QueueSystem {
  private readonly edgeFree: Float64Array;
  /** Min-heap of the workers' free times. */
  private readonly workerFree: Float64Array;
  private readonly pending: Pending[] = [];
  private seq = 0;

  constructor(private readonly table: PoolTable, options: QueueOptions, private readonly done: Completion) {
    this.edgeFree = new Float64Array(options.edges);
    this.workerFree = new Float64Array(options.workers);
  }

  /** A request arriving at `arrivalMs` on `device`, running pool row `row`. Arrivals must come in time order. */
  submit(arrivalMs: number, device: number, row: number, budgetMs: number): void {
    this.advance(arrivalMs);
    const t = this.table;
    const start = Math.max(arrivalMs, this.edgeFree[device]);
    const edgeWaitMs = start - arrivalMs;
    this.edgeFree[device] = start + t.edgeMs[row];
    if (!(t.cloudMs[row] > 0)) {
      this.done(t.latencyMs[row] + edgeWaitMs, budgetMs, 0, edgeWaitMs);
      return;
    }
    push(this.pending, { at: start + t.edgeMs[row] + t.transferMs[row], seq: this.seq++, row, budgetMs, edgeWaitMs });
  }

  /** Serves every tensor still waiting (call once after the last request). */
  flush(): void {
    this.advance(Infinity);
  }

  /** Hands the tensors that reached the cloud by `clock` to workers, in arrival order (FIFO). */
  private advance(clock: number): void {
    const heap = this.pending;
    const free = this.workerFree;
    while (heap.length > 0 && heap[0].at <= clock) {
      const p = pop(heap);
      // The earliest-free worker takes it: FIFO over M identical servers.
      const start = Math.max(p.at, free[0]);
      free[0] = start + this.table.cloudMs[p.row];
      siftDown(free);
      const queueWaitMs = start - p.at;
      this.done(this.table.latencyMs[p.row] + p.edgeWaitMs + queueWaitMs, p.budgetMs, queueWaitMs, p.edgeWaitMs);
    }
  }
}

const before = (a: Pending, b: Pending) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

function push(heap: Pending[], item: Pending): void {
  let i = heap.push(item) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i], heap[parent])) break;
    [heap[i], heap[parent]] = [heap[parent], heap[i]];
    i = parent;
  }
}

function pop(heap: Pending[]): Pending {
  const top = heap[0];
  const last = heap.pop()!;
  if (heap.length > 0) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l], heap[m])) m = l;
      if (r < heap.length && before(heap[r], heap[m])) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  }
  return top;
}

/** Restores the min-heap after its root grew. */
function siftDown(heap: Float64Array): void {
  let i = 0;
  const n = heap.length;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < n && heap[l] < heap[m]) m = l;
    if (r < n && heap[r] < heap[m]) m = r;
    if (m === i) return;
    const t = heap[i];
    heap[i] = heap[m];
    heap[m] = t;
    i = m;
  }
}
