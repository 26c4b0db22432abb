/**
 * The Result's times are on the clock the sensor stamps its capture with (common/clock.ts wallClockMs):
 * a request answered within a millisecond of its capture never ends before it began.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { wallClockAt, wallClockMs } from '../../../common/index.ts';
import { clockAheadMs, CLOCK_SLACK_MS, successResult } from '../../../edge-node/results.ts';
import type { Admitted } from '../../../edge-node/frames.ts';
import type { Outcome } from '../../../edge-node/execute.ts';
import { DEFAULT_CARD } from '../../../model/index.ts';
import { configuration, type Entry } from '../../../policy/index.ts';

const entry: Entry = { configuration: configuration({ cut: 'output', codec: 'fp32' }), latencyMs: 0, latencyP95Ms: 0, energyJ: 0, accuracy: 1 };

function admitted(captureAtMs: number): Admitted {
  return {
    key: 'k', requestId: 'r', sensorId: 's', model: 'm', budgetMs: 100, captureAtMs, deadlineAtMs: captureAtMs + 100, accuracyFloor: 0,
    inputs: {}, card: { loaded: { card: DEFAULT_CARD } }, preprocessMs: 0,
  };
}

const outcome: Outcome = {
  outputs: { logits: new ort.Tensor('float32', new Float32Array([0.1, 0.7, 0.2]), [1, 3]) },
  edgeComputeMs: 0.2, encodeMs: 0, transferMs: 0, roundTripMs: 0, unemulatedMs: 0, cloudQueueMs: 0, cloudDecodeMs: 0, cloudEncodeMs: 0,
  cloudComputeMs: 0, reconfigureMs: 0, waitMs: 0, tensorBytes: 0, workerId: '', edgeFallback: false, cloudEnergyJ: 0, cloudEnergySource: '', cloudLatencySource: '',
};

const measured = { arrivedAt: performance.now(), queueMs: 0, outputsAt: performance.now(), energy: { joules: 0, source: '' }, latencySource: 'measured' };

describe('successResult', () => {
  it('times the result on the capture stamp\'s clock, to the sub-millisecond', () => {
    const capture = wallClockMs();
    const result = successResult(admitted(capture), entry, outcome, { ...measured, arrivedAt: performance.now() }, { edgeId: 'e', topK: 3 });
    expect(result.completed_at_ms).toBeGreaterThanOrEqual(capture);
    // Not Date.now()'s whole milliseconds.
    expect(Number.isInteger(result.completed_at_ms)).toBe(false);
    expect(result.latency!.end_to_end_ms).toBe(result.completed_at_ms! - capture);
    expect(result.class_index).toBe(1);
  });

  it('never ends a request before its capture: a sensor clock a little ahead reads its time here, not less', () => {
    // Another process's reading of the wall clock may run a fraction of a millisecond ahead of this one's.
    const arrivedAt = performance.now();
    const result = successResult(admitted(wallClockMs() + 0.6), entry, outcome, { ...measured, arrivedAt }, { edgeId: 'e', topK: 3 });
    // Within 2 ms: the wall clock of a performance.now() reading is read again here, and its mapping moves a little.
    expect(Math.abs(result.latency!.end_to_end_ms! - (result.completed_at_ms! - wallClockAt(arrivedAt)))).toBeLessThan(2);
    expect(result.latency!.end_to_end_ms).toBeLessThan(0.6 + 50);
    expect(result.latency!.frame_ms).toBe(0);
    expect(result.budget_met).toBe(true);
    const here = wallClockAt(arrivedAt);
    expect(clockAheadMs(here + 0.6, here)).toBe(0);
  });

  it('a sensor clock seconds ahead: the end-to-end latency is the request\'s time here (a lower bound), and the skew is told', () => {
    // Arrived 40 ms ago on this node's clock, stamped 3 s in its future.
    const arrivedAt = performance.now() - 40;
    const capture = wallClockAt(arrivedAt) + 3_000;
    const result = successResult(admitted(capture), entry, outcome, { ...measured, arrivedAt }, { edgeId: 'e', topK: 3 });
    expect(result.latency!.end_to_end_ms).toBeGreaterThanOrEqual(39);
    expect(Math.abs(result.latency!.end_to_end_ms! - (result.completed_at_ms! - wallClockAt(arrivedAt)))).toBeLessThan(2);
    // Pure: the stamp against the arrival's wall-clock time, read once here.
    const at = wallClockAt(arrivedAt);
    expect(clockAheadMs(at + 3_000, at)).toBeCloseTo(3_000, 6);
    expect(clockAheadMs(at + CLOCK_SLACK_MS - 0.5, at)).toBe(0);
  });

  it('counts every wait for a compute slot as queueing: the admission\'s and any later one', () => {
    const result = successResult(admitted(wallClockMs()), entry, { ...outcome, waitMs: 2.5 }, { ...measured, queueMs: 0.75 }, { edgeId: 'e', topK: 3 });
    expect(result.latency!.edge_queue_ms).toBe(3.25);
  });
});
