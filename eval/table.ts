/**
 * A measurement pool prepared for simulation: one configuration per (model, configuration) group, in
 * aggregatePool's order, each with the indices of its recorded runs; every run's figures in flat
 * Float64Arrays indexed by its row in the pool (so a draw is two array reads), and a counter-based
 * draw: the run of configuration c for request i is a pure function of (seed, i, c). Each
 * (request, configuration) pair therefore has exactly one draw, the same whichever strategy asks,
 * in whatever order, and whichever other strategies run beside it.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { aggregatePool, type Aggregate, type PoolRow } from '../pareto/index.ts';
import { CLOUD_ONLY_CUT, EDGE_ONLY_CUT } from '../policy/index.ts';

export interface PoolTable {
  model: string;
  aggregates: Aggregate[];
  /** Configuration names; a configuration's id is its index here. */
  names: string[];
  /** Per configuration: the pool rows of its runs. */
  members: Int32Array[];
  /** Per pool row (rows of other models stay NaN). ms, J, 0..1 */
  latencyMs: Float64Array;
  energyJ: Float64Array;
  accuracy: Float64Array;
  /** Per pool row, the latency's parts for the queueing model (see parts()), ms. */
  edgeMs: Float64Array;
  transferMs: Float64Array;
  cloudMs: Float64Array;
  /** The rest of the latency: neither computing nor sending (serialization, scheduling), ms. */
  otherMs: Float64Array;
}

export interface TableOptions {
  /** Model whose runs to use; needed when the pool holds several. */
  model?: string;
  /** Share of the latency put on the edge for split runs that record no parts; default 0.5. */
  edgeShare?: number;
  /**
   * Configurations whose mean accuracy is below this (0..1) are left out, the baselines' excepted: what
   * a deployment that tolerates so much accuracy loss may choose from. default: none left out
   */
  accuracyFloor?: number;
  /** The accuracy the floor is checked on; default the configuration's mean over its runs. */
  accuracyOf?: (a: Aggregate) => number;
}

export function poolTable(rows: readonly PoolRow[], options: TableOptions = {}): PoolTable {
  const model = selectModel(rows, options.model);
  const floor = options.accuracyFloor;
  if (floor !== undefined && !(floor >= 0 && floor <= 1)) throw new DynasplitError(ErrorCodes.BAD_ARGS, `accuracy floor must be within 0..1, got ${floor}`);
  const accuracyOf = (a: Aggregate): number => options.accuracyOf?.(a) ?? a.accuracy;
  const ofModel = aggregatePool(rows).filter((a) => a.model === model);
  // Baselines stay whatever their accuracy, but a floor that no configuration reaches, baselines
  // included, is a mistake (a pool whose accuracy is 0 throughout), not a choice among baselines.
  if (floor !== undefined && !ofModel.some((a) => accuracyOf(a) >= floor)) {
    const best = Math.max(...ofModel.map(accuracyOf));
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `no configuration of the pool reaches accuracy ${floor} (the best reaches ${Number.isFinite(best) ? best.toFixed(3) : 'none'})`);
  }
  const aggregates = ofModel.filter((a) => floor === undefined || accuracyOf(a) >= floor || a.baseline !== '');
  if (aggregates.length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'the pool holds no runs');
  const id = new Map(aggregates.map((a, i) => [a.configuration.name, i]));
  const lists: number[][] = aggregates.map(() => []);
  const n = rows.length;
  const t: PoolTable = {
    model, aggregates, names: aggregates.map((a) => a.configuration.name), members: [],
    latencyMs: new Float64Array(n).fill(NaN), energyJ: new Float64Array(n).fill(NaN), accuracy: new Float64Array(n).fill(NaN),
    edgeMs: new Float64Array(n), transferMs: new Float64Array(n), cloudMs: new Float64Array(n), otherMs: new Float64Array(n),
  };
  const edgeShare = options.edgeShare ?? 0.5;
  if (!(edgeShare >= 0 && edgeShare <= 1)) throw new DynasplitError(ErrorCodes.BAD_ARGS, `edge share must be within 0..1, got ${edgeShare}`);
  rows.forEach((row, r) => {
    const c = row.model === model ? id.get(row.configuration) : undefined;
    if (c === undefined) return;
    lists[c].push(r);
    t.latencyMs[r] = row.latencyMs;
    t.energyJ[r] = row.energyJ;
    // A run that did not measure accuracy counts with its configuration's (aggregatePool: the mean of
    // the runs that did, else 1 = as good as the unsplit model).
    t.accuracy[r] = Number.isFinite(row.accuracy) ? row.accuracy : aggregates[c].accuracy;
    [t.edgeMs[r], t.transferMs[r], t.cloudMs[r], t.otherMs[r]] = parts(row, aggregates[c].baseline, edgeShare);
  });
  t.members = lists.map((l) => Int32Array.from(l));
  return t;
}

function selectModel(rows: readonly PoolRow[], model: string | undefined): string {
  const models = [...new Set(rows.map((r) => r.model))];
  if (model !== undefined) {
    if (!models.includes(model)) throw new DynasplitError(ErrorCodes.BAD_ARGS, `no runs of model '${model}' in the pool; models: ${models.join(', ')}`);
    return model;
  }
  if (models.length > 1) throw new DynasplitError(ErrorCodes.BAD_ARGS, `the pool holds several models (${models.join(', ')}); choose one`);
  if (models.length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'the pool holds no runs');
  return models[0];
}

/**
 * [edge, transfer, cloud, other] ms, summing to the run's latency. Recorded parts are used as given
 * (when they add up to more than the latency they are scaled down to it; the remainder is 'other').
 * A run that records none: edge-only (cut 'output' or the edge-only mark) is all edge; cloud-only (cut
 * 'input' or the cloud-only mark) is all cloud; a split puts `edgeShare` of it on the edge and the rest
 * in the cloud, with no transfer.
 */
function parts(row: PoolRow, baseline: string, edgeShare: number): [number, number, number, number] {
  const total = row.latencyMs;
  const known = [row.edgeComputeMs, row.transferMs, row.cloudComputeMs];
  if (known.some(Number.isFinite)) {
    const [e, x, c] = known.map((v) => (Number.isFinite(v) ? v : 0));
    const sum = e + x + c;
    const scale = sum > total && sum > 0 ? total / sum : 1;
    return [e * scale, x * scale, c * scale, Math.max(0, total - sum * scale)];
  }
  if (row.cut === EDGE_ONLY_CUT || baseline === 'edge-only') return [total, 0, 0, 0];
  if (row.cut === CLOUD_ONLY_CUT || baseline === 'cloud-only') return [0, 0, total, 0];
  return [total * edgeShare, 0, total * (1 - edgeShare), 0];
}

/** lowbias32 (Chris Wellons' hash-prospector): a 32-bit bijection with low bias. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  return x ^ (x >>> 16);
}

/** The per-seed key of the draws. */
export function drawKey(seed: number): number {
  return mix32(mix32(seed | 0) ^ 0x5eed_d5a1) | 0;
}

/** The per-request part of a draw (computed once per request). */
export function requestKey(key: number, request: number): number {
  return mix32((key + Math.imul(request, 0x9e3779b1)) | 0);
}

/** Which of `count` runs configuration `c` draws for the request whose key is `rk`: uniform in [0, count). */
export function drawIndex(rk: number, c: number, count: number): number {
  const h = mix32((rk ^ Math.imul(c + 1, 0x85ebca6b)) | 0) >>> 0;
  return Math.floor((h * count) / 4294967296);
}
