import { describe, expect, it } from 'vitest';
import { WallClock } from '../../../common/index.ts';

/** A host whose wall clock runs at `rate` against the monotonic one; Date.now() truncates to whole ms. */
function host(startWallMs: number, rate = 1) {
  let mono = 0;
  let step = 0;
  /** ms the process is preempted for at its next reading of the wall clock (then the reading is taken). */
  let away = 0;
  const realWall = () => startWallMs + mono * rate + step;
  const wall = () => {
    mono += away;
    away = 0;
    return Math.floor(realWall());
  };
  return {
    clock: new WallClock(() => mono, wall),
    advance(ms: number) { mono += ms; },
    preemptAtNextReading(ms: number) { away = ms; },
    stepWall(ms: number) { step += ms; },
    realWall,
  };
}

describe('WallClock', () => {
  it('has the monotonic clock\'s resolution and stays within a millisecond below the true wall time', () => {
    const h = host(1_765_000_000_000.25);
    const errors: number[] = [];
    for (let i = 0; i < 500; i++) {
      h.advance(0.137);
      errors.push(h.realWall() - h.clock.now());
    }
    expect(Math.min(...errors)).toBeGreaterThanOrEqual(-1e-6);
    expect(Math.max(...errors)).toBeLessThan(1);
    // Once it has seen a sample just before a millisecond tick, it is within a few µs.
    expect(Math.max(...errors.slice(100))).toBeLessThan(0.2);
    // Two readings 0.137 ms apart differ by 0.137 ms, not by 0 or 1.
    const a = h.clock.now();
    h.advance(0.137);
    expect(h.clock.now() - a).toBeCloseTo(0.137, 3); // doubles near 1.7e12 ms resolve ~0.2 µs
    // A monotonic reading taken earlier maps to the wall time it was taken at.
    const earlier = 1_000;
    expect(h.realWall() - (h.clock.at(earlier) + (500 * 0.137 + 0.137 - earlier))).toBeLessThan(0.2);
  });

  it('follows a wall clock that runs at another rate than the monotonic one, and one that steps back', () => {
    const h = host(1_765_000_000_000, 1.0005); // NTP slewing at its limit: 43 s a day
    for (let i = 0; i < 40_000; i++) {
      h.advance(6.37);
      const error = h.realWall() - h.clock.now();
      expect(error).toBeGreaterThan(-1e-6);
      expect(error).toBeLessThan(1 + 10_000 * 0.0005 + 1e-6); // within a resample period's slew
    }
    h.stepWall(-5_000);
    h.advance(10_000);
    expect(Math.abs(h.realWall() - h.clock.now())).toBeLessThan(1);
  });

  it('is not set ahead by a process preempted between its readings of the two clocks', () => {
    const h = host(1_765_000_000_000.5);
    for (let i = 0; i < 100; i++) {
      h.advance(0.137);
      h.clock.now();
    }
    // Away for 3 ms on a loaded host, right before the wall clock is read.
    h.preemptAtNextReading(3);
    h.clock.now();
    for (let i = 0; i < 100; i++) {
      h.advance(0.137);
      const error = h.realWall() - h.clock.now();
      expect(error).toBeGreaterThan(-1e-6); // never ahead of the true wall time
      expect(error).toBeLessThan(0.2);
    }
  });
});
