/** The sensor's options: its wait for an edge, and durations a timer can wait. */
import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS } from '../../../common/index.ts';
import { drainMsFor, parseSensorOptions } from '../../../sensor/index.ts';

const refused = (partial: Parameters<typeof parseSensorOptions>[0]) => expect(() => parseSensorOptions(partial)).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_ARGS' }));

describe('parseSensorOptions', () => {
  it('waits 30 s for an edge by default; 0 does not wait', () => {
    expect(parseSensorOptions({}).waitForEdgeMs).toBe(30_000);
    expect(parseSensorOptions({ waitForEdgeMs: 0 }).waitForEdgeMs).toBe(0);
    expect(parseSensorOptions({ waitForEdgeMs: MAX_TIMER_MS }).waitForEdgeMs).toBe(MAX_TIMER_MS);
  });

  it('refuses a wait that is negative, fractional, not a number, or longer than a timer waits', () => {
    for (const waitForEdgeMs of [-1, 1.5, Number.NaN, MAX_TIMER_MS + 1]) refused({ waitForEdgeMs });
    // Past the longest timer, Node fires after 1 ms: the sensor would stop draining at once.
    expect(() => parseSensorOptions({ drainMs: MAX_TIMER_MS + 1 })).toThrow(/drainMs must be at most 2147483647 ms/);
  });

  it('waits for results 10 s after the last frame, or 5 s past the largest budget sent; an option says otherwise', () => {
    expect(drainMsFor(undefined, 300)).toBe(10_000);
    // A 30 s budget: the edge may answer at its end (its own tail when the cloud is silent), after a 10 s wait would have given up.
    expect(drainMsFor(undefined, 30_000)).toBe(35_000);
    expect(drainMsFor(undefined, 1e12)).toBe(MAX_TIMER_MS);
    expect(drainMsFor(2_000, 30_000)).toBe(2_000);
  });
});
