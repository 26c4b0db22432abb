/** Minimal benchmark helpers: warm-up, then the median of timed runs. All figures are measured. */
import { medianOfSorted, nearestRank } from '../common/index.ts';

export interface Timing { medianMs: number; p90Ms: number; runs: number }

/**
 * Runs `fn` at least `warmup` times and for at least `warmupMs` untimed, then at least `runs` times and
 * for at least `minMs` timed.
 */
export async function time(fn: () => unknown, options: { warmup?: number; warmupMs?: number; runs?: number; minMs?: number } = {}): Promise<Timing> {
  const { warmup = 3, warmupMs = 0, runs = 15, minMs = 0 } = options;
  const warming = performance.now();
  for (let i = 0; i < warmup || performance.now() - warming < warmupMs; i++) await fn();
  const samples: number[] = [];
  const started = performance.now();
  while (samples.length < runs || performance.now() - started < minMs) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  // common/stats.ts's definitions: median of the middle two for an even count, nearest-rank p90.
  return { medianMs: medianOfSorted(samples), p90Ms: nearestRank(samples, 0.9), runs: samples.length };
}

/**
 * Calls `fn(lane)` `count` times, `lanes` calls at a time (each lane starts its next call when its
 * last one resolves); resolves with the results in the order they came.
 */
export async function inLanes<T>(count: number, lanes: number, fn: (lane: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
    while (next++ < count) results.push(await fn(lane));
  }));
  return results;
}

export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = rows.map((r) => r.map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n## ${title}\n`);
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of cells) console.log(line(r));
}

/** `K=V K=V` of an environment's settings, for a table's title; "its defaults" for none. */
export function envText(env: Record<string, string>): string {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ') || 'its defaults';
}
