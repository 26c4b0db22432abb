import { afterEach, describe, expect, it } from 'vitest';
import { createProgress, formatDuration, printAboveProgress, releaseProgressLine } from '../../../common/index.ts';

function terminal(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, sink: { isTTY, write: (text: string) => { writes.push(text); } } };
}

/** A clock the test moves by hand, in ms. */
function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}

afterEach(() => releaseProgressLine());

describe('progress ETA', () => {
  it('shows no ETA for the first second of data, whatever the first steps suggest', () => {
    const { writes, sink } = terminal(true);
    const time = clock();
    const progress = createProgress(sink, 'work', 100, String, { now: time.now });
    time.advance(10);
    progress.update(1);
    time.advance(300);
    progress.update(2);
    time.advance(300);
    progress.update(3);
    expect(writes.join('')).not.toContain('eta');
  });

  it('shows an ETA from the smoothed rate once a second of data is in, close to the true pace', () => {
    const { writes, sink } = terminal(true);
    const time = clock();
    const progress = createProgress(sink, 'work', 100, String, { now: time.now });
    // A slow first step (loading), then a steady 10 steps/s: the ETA follows the steady pace.
    time.advance(3000);
    progress.update(1);
    for (let done = 2; done <= 30; done++) {
      time.advance(100);
      progress.update(done);
    }
    const last = writes.at(-1)!;
    const eta = Number(/eta (\d+)s/.exec(last)?.[1]);
    // 70 steps left at 10/s is 7 s; the smoothed rate forgets the slow start.
    expect(eta).toBeGreaterThanOrEqual(6);
    expect(eta).toBeLessThanOrEqual(9);
  });

  it('redraws a terminal line at most every 50 ms, and a log line brings back the latest state', () => {
    const { writes, sink } = terminal(true);
    const time = clock();
    const progress = createProgress(sink, 'work', 1000, String, { now: time.now });
    for (let done = 1; done <= 100; done++) {
      time.advance(1);
      progress.update(done);
    }
    // 100 updates over 100 ms: the first, then one 50 ms later.
    expect(writes).toHaveLength(2);
    printAboveProgress((text) => writes.push(text), 'line\n');
    expect(writes.at(-1)).toContain(' 100/1000 ');
  });

  it('formats durations in s, m and h', () => {
    expect(formatDuration(4.2)).toBe('5s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
  });
});

describe('progress and other output on one terminal', () => {
  it('clears the bar before a printed line and draws it again below', () => {
    const { writes, sink } = terminal(true);
    const progress = createProgress(sink, 'work', 10);
    progress.update(5);
    const bar = writes.at(-1)!;
    const printed: string[] = [];
    printAboveProgress((text) => { printed.push(text); writes.push(text); }, 'a log line\n');
    expect(printed).toEqual(['a log line\n']);
    expect(writes.slice(-3)).toEqual(['\r\x1b[K', 'a log line\n', bar]);
  });

  it('prints straight through when no bar is shown (done, or not a terminal)', () => {
    const tty = terminal(true);
    const progress = createProgress(tty.sink, 'work', 10);
    progress.update(5);
    progress.done();
    const pipe = terminal(false);
    createProgress(pipe.sink, 'other', 10).update(5);
    const before = tty.writes.length;
    const printed: string[] = [];
    printAboveProgress((text) => printed.push(text), 'line\n');
    expect(printed).toEqual(['line\n']);
    expect(tty.writes.length).toBe(before);
  });

  it('ends a bar left mid-line so an error starts on its own line', () => {
    const { writes, sink } = terminal(true);
    createProgress(sink, 'work', 10).update(3);
    releaseProgressLine();
    expect(writes.at(-1)).toBe('\n');
    const printed: string[] = [];
    printAboveProgress((text) => printed.push(text), 'error\n');
    expect(writes.at(-1)).toBe('\n');
  });

  it('off a terminal prints one line per 10% and no carriage returns', () => {
    const { writes, sink } = terminal(false);
    const progress = createProgress(sink, 'work', 100);
    for (let done = 1; done <= 100; done++) progress.update(done);
    progress.done();
    // 0%, 10%, ..., 100% as updates arrive, then the closing line.
    expect(writes.length).toBe(12);
    expect(writes.join('')).not.toContain('\r');
  });
});
