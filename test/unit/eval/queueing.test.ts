import { describe, expect, it } from 'vitest';
import { checkQueueOptions, poolTable, QueueSystem, simulate, STRATEGY_NAMES } from '../../../eval/index.ts';
import { poolRow, type PoolRow } from '../../../pareto/index.ts';
import { seededRandom } from '../../helpers/random.ts';

/** cloud-only: 2 ms transfer + 10 ms cloud (+1 ms other); edge-only: 10 ms; split: 30 ms edge + 5 ms transfer + 5 ms cloud. */
const rows: PoolRow[] = [
  poolRow({ configuration: 'cloud-only', cut: 'input', latencyMs: 13, energyJ: 2, edgeComputeMs: 0, transferMs: 2, cloudComputeMs: 10, baseline: 'cloud-only' }),
  poolRow({ configuration: 'edge-only', cut: 'output', latencyMs: 10, energyJ: 1, baseline: 'edge-only' }),
  poolRow({ configuration: 'split', cut: 't', latencyMs: 40, energyJ: 1.5, edgeComputeMs: 30, transferMs: 5, cloudComputeMs: 5 }),
];

function system(workers: number, edges = 4) {
  const done: { latencyMs: number; queueWaitMs: number; edgeWaitMs: number }[] = [];
  const q = new QueueSystem(poolTable(rows), { edges, workers, ratePerSecond: 1 }, (latencyMs, _budget, queueWaitMs, edgeWaitMs) =>
    done.push({ latencyMs, queueWaitMs, edgeWaitMs }));
  return { q, done };
}

describe('queueing model', () => {
  it('queues tensors FIFO for the first free worker', () => {
    const { q, done } = system(1);
    for (let device = 0; device < 3; device++) q.submit(0, device, 0, 100);
    q.flush();
    expect(done).toEqual([
      { latencyMs: 13, queueWaitMs: 0, edgeWaitMs: 0 }, { latencyMs: 23, queueWaitMs: 10, edgeWaitMs: 0 }, { latencyMs: 33, queueWaitMs: 20, edgeWaitMs: 0 },
    ]);
    const two = system(2);
    for (let device = 0; device < 3; device++) two.q.submit(0, device, 0, 100);
    two.q.flush();
    expect(two.done.map((d) => d.queueWaitMs)).toEqual([0, 0, 10]);
  });

  it('serves the cloud in order of arrival at the cloud, not of the requests', () => {
    const { q, done } = system(1);
    q.submit(0, 0, 2, 100); // split: reaches the cloud at 35
    q.submit(1, 1, 0, 100); // cloud-only: reaches it at 3, done at 13
    q.flush();
    expect(done).toEqual([{ latencyMs: 13, queueWaitMs: 0, edgeWaitMs: 0 }, { latencyMs: 40, queueWaitMs: 0, edgeWaitMs: 0 }]);
  });

  it('runs one head at a time per edge device', () => {
    const { q, done } = system(1, 1);
    q.submit(0, 0, 1, 100); // edge-only, busy until 10
    q.submit(4, 0, 1, 100); // waits 6
    q.submit(4, 0, 0, 100); // cloud-only: no head; waits for the device all the same (FIFO), 16
    q.flush();
    expect(done.map((d) => d.edgeWaitMs)).toEqual([0, 6, 16]);
    expect(done.map((d) => d.latencyMs)).toEqual([10, 16, 29]);
  });

  it('with many workers and a low rate, reproduces the plain simulation', () => {
    const random = seededRandom(11);
    const pool = Array.from({ length: 60 }, (_, i) => {
      const c = i % 6;
      const edge = c === 0 ? 0 : 20 * c * (0.8 + 0.4 * random());
      const cloud = c === 5 ? 0 : 10 * (0.8 + 0.4 * random());
      return poolRow({
        configuration: `c${c}`, cut: c === 0 ? 'input' : c === 5 ? 'output' : `t${c}`, latencyMs: edge + cloud + 3, energyJ: 1 + c * (0.5 - random()),
        edgeComputeMs: edge, transferMs: c === 5 ? 0 : 2, cloudComputeMs: cloud, baseline: c === 0 ? 'cloud-only' : '',
      });
    });
    const base = { rows: pool, budgets: 'uniform:20:120', requests: 5000, strategies: [...STRATEGY_NAMES], seed: 2 };
    const plain = simulate(base).strategies;
    const queued = simulate({ ...base, queueing: { edges: 8, workers: 1000, ratePerSecond: 1e-6 } }).strategies;
    // Every request's latency is kept with queueing: more than the machine holds is refused before any work.
    expect(() => simulate({ ...base, requests: 1e12, queueing: { edges: 2, workers: 1, ratePerSecond: 1 } }))
      .toThrow(/queueing keeps every request's latency, \d+\.\d GiB for 1000000000000 requests and \d+ strategies; this machine has/);
    for (const name of STRATEGY_NAMES) {
      const { meanQueueWaitMs, meanEdgeWaitMs, meanLatencyMs, ...rest } = queued[name];
      expect(meanQueueWaitMs).toBe(0);
      expect(meanEdgeWaitMs).toBe(0);
      expect(meanLatencyMs).toBeCloseTo(plain[name].meanLatencyMs, 9);
      expect({ ...rest, meanLatencyMs: 0 }).toEqual({ ...plain[name], meanLatencyMs: 0 });
    }
  });

  it('with one worker, waits grow with the arrival rate', () => {
    const waits = [5, 20, 60].map((rate) => simulate({
      rows, budgets: 'fixed:30', requests: 4000, strategies: ['cloud-only'], seed: 3, queueing: { edges: 1, workers: 1, ratePerSecond: rate },
    }).strategies['cloud-only']);
    expect(waits[0].meanQueueWaitMs!).toBeLessThan(waits[1].meanQueueWaitMs!);
    expect(waits[1].meanQueueWaitMs!).toBeLessThan(waits[2].meanQueueWaitMs!);
    // At 60 req/s of 10 ms each the worker is 60% busy (M/G/1): waits are several ms and budgets start to be missed.
    expect(waits[2].meanQueueWaitMs!).toBeGreaterThan(3);
    expect(waits[2].budgetMetRate).toBeLessThan(waits[0].budgetMetRate);
    expect(waits[2].p95LatencyMs).toBeGreaterThan(13);
  });

  it('splits each run\'s latency into edge, transfer, cloud and the rest', () => {
    const t = poolTable([
      poolRow({ configuration: 's', cut: 't', latencyMs: 100, energyJ: 1 }),
      poolRow({ configuration: 'e', cut: 'output', latencyMs: 100, energyJ: 1 }),
      poolRow({ configuration: 'c', cut: 'input', latencyMs: 100, energyJ: 1 }),
      poolRow({ configuration: 'p', cut: 't', latencyMs: 100, energyJ: 1, edgeComputeMs: 40, transferMs: 10 }),
      poolRow({ configuration: 'q', cut: 't', latencyMs: 100, energyJ: 1, edgeComputeMs: 100, transferMs: 50, cloudComputeMs: 50 }),
    ], { edgeShare: 0.25 });
    const parts = (r: number) => [t.edgeMs[r], t.transferMs[r], t.cloudMs[r], t.otherMs[r]];
    expect([0, 1, 2, 3, 4].map(parts)).toEqual([[25, 0, 75, 0], [100, 0, 0, 0], [0, 0, 100, 0], [40, 10, 0, 50], [50, 25, 25, 0]]);
    expect(() => poolTable(rows, { edgeShare: 1.5 })).toThrow(/edge share must be within 0..1/);
  });

  it('refuses bad options', () => {
    expect(() => checkQueueOptions({ edges: 0, workers: 1, ratePerSecond: 1 })).toThrow(/edges must be an integer >= 1/);
    expect(() => checkQueueOptions({ edges: 1, workers: 1.5, ratePerSecond: 1 })).toThrow(/workers must be an integer >= 1/);
    expect(() => checkQueueOptions({ edges: 1, workers: 1, ratePerSecond: 0 })).toThrow(/rate must be a positive number/);
  });
});
