import { afterEach, describe, expect, it } from 'vitest';
import { createProgress, DynasplitError, ErrorCodes, flushLogRepeats, releaseProgressLine, rootLogger } from '../../../common/index.ts';
import { formatPretty } from '../../../common/log-pretty.ts';
import { RepeatFilter } from '../../../common/log-repeats.ts';

function capture() {
  const lines: string[] = [];
  return { lines, write: (text: string) => { lines.push(text); } };
}

afterEach(() => {
  flushLogRepeats();
  releaseProgressLine();
});

describe('RepeatFilter', () => {
  it('admits the first warning of a kind, holds back the rest and summarises them when the window closes', () => {
    const filter = new RepeatFilter();
    const warning = { level: 40, component: 'edge-node', node: 'e1', code: 'DYNASPLIT_ERR_BAD_FRAME', msg: 'frame refused' };
    expect(filter.admit({ ...warning, time: 1 }, 0)).toBe(true);
    for (let i = 0; i < 57; i++) expect(filter.admit({ ...warning, time: 2 + i }, 100 + i)).toBe(false);
    const [summary, ...rest] = filter.flush(10_000);
    expect(rest).toEqual([]);
    expect(summary).toMatchObject({ level: 40, component: 'edge-node', node: 'e1', code: 'DYNASPLIT_ERR_BAD_FRAME', repeated: 57, windowS: 10 });
    expect(summary.msg).toBe('frame refused (57 more like this in 10 s)');
  });

  it('tells kinds apart by code, message, component, node and MQTT connection, and never holds back info or fatal', () => {
    const filter = new RepeatFilter();
    const base = { level: 40, component: 'edge-node', node: 'e1', msg: 'refused' };
    expect(filter.admit({ ...base, err: { code: 'A' } }, 0)).toBe(true);
    expect(filter.admit({ ...base, err: { code: 'B' } }, 0)).toBe(true);
    expect(filter.admit({ ...base, node: 'e2', err: { code: 'A' } }, 0)).toBe(true);
    expect(filter.admit({ ...base, msg: 'other', err: { code: 'A' } }, 0)).toBe(true);
    expect(filter.admit({ ...base, clientId: 'e1-a', err: { code: 'A' } }, 0)).toBe(true);
    expect(filter.admit({ ...base, clientId: 'e1-a', err: { code: 'A' } }, 0)).toBe(false);
    // Each cloud worker that fails is named once per window.
    expect(filter.admit({ ...base, worker: 'w1', err: { code: 'A' } }, 0)).toBe(true);
    expect(filter.admit({ ...base, worker: 'w2', err: { code: 'A' } }, 0)).toBe(true);
    expect(filter.admit({ ...base, worker: 'w2', err: { code: 'A' } }, 0)).toBe(false);
    expect(filter.admit({ ...base, err: { code: 'A' } }, 0)).toBe(false);
    for (let i = 0; i < 3; i++) {
      expect(filter.admit({ level: 30, msg: 'served' }, 0)).toBe(true);
      expect(filter.admit({ level: 60, msg: 'dying' }, 0)).toBe(true);
    }
  });

  it('forgets a kind after a window without repeats, so its next occurrence prints in full', () => {
    const filter = new RepeatFilter();
    const warning = { level: 40, msg: 'slow' };
    filter.admit(warning, 0);
    filter.admit(warning, 1);
    expect(filter.flush(10_000)).toHaveLength(1);
    expect(filter.pending).toBe(true);
    expect(filter.flush(20_000)).toEqual([]);
    expect(filter.pending).toBe(false);
    expect(filter.admit(warning, 30_000)).toBe(true);
  });
});

describe('formatPretty', () => {
  it('writes time, level, where, message, code and fields on one line', () => {
    const time = new Date(2026, 0, 2, 13, 4, 5, 123).getTime();
    const line = formatPretty({
      level: 40, time, pid: 1, component: 'edge-node', node: 'e1', msg: 'frame refused',
      err: { type: 'DynasplitError', message: 'wrong input shape [1,3]', code: 'DYNASPLIT_ERR_BAD_FRAME', stack: 'at x' }, sensor: 's1',
    });
    expect(line).toBe('13:04:05.123 WARN  edge-node e1: frame refused  code=DYNASPLIT_ERR_BAD_FRAME err="wrong input shape [1,3]" sensor=s1\n');
  });

  it('adds the stack of an unexpected error (no code) at error level, and colours only when asked', () => {
    const record = { level: 50, time: 0, msg: 'crashed', err: { type: 'TypeError', message: 'x is undefined', stack: 'TypeError: x is undefined\n    at f (a.ts:1)' } };
    const plain = formatPretty(record);
    expect(plain).toContain('\n    TypeError: x is undefined\n        at f (a.ts:1)\n');
    expect(plain).not.toContain('\x1b[');
    expect(formatPretty(record, { colors: true })).toContain('\x1b[31mERROR\x1b[0m');
  });
});

describe('rootLogger', () => {
  it('writes JSON lines by default and readable lines with format pretty', () => {
    const json = capture();
    rootLogger('info', { write: json.write }).info({ component: 'broker' }, 'listening');
    expect(JSON.parse(json.lines[0])).toMatchObject({ level: 30, component: 'broker', msg: 'listening' });
    const pretty = capture();
    rootLogger('info', { format: 'pretty', write: pretty.write }).child({ component: 'broker' }).info('listening');
    expect(pretty.lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}broker: listening\n$/);
  });

  it('logs a coded error as its code, message and details without our stack; an INTERNAL one or any other error with it', () => {
    const out = capture();
    const logger = rootLogger('info', { write: out.write }).child({ component: 'broker' });
    logger.warn({ err: new DynasplitError(ErrorCodes.PAYLOAD_TOO_LARGE, 'packet of 70 MB', { details: { limit: 64 } }) }, 'packet over the limit');
    logger.error({ err: new DynasplitError(ErrorCodes.INTERNAL, 'a bug') }, 'unexpected');
    logger.error({ err: new TypeError('boom') }, 'unexpected');
    const [coded, internal, other] = out.lines.map((l) => JSON.parse(l) as { err: Record<string, unknown> });
    expect(coded.err).toEqual({ type: 'DynasplitError', code: ErrorCodes.PAYLOAD_TOO_LARGE, message: 'packet of 70 MB', details: { limit: 64 } });
    expect(internal.err).toMatchObject({ code: ErrorCodes.INTERNAL, stack: expect.stringContaining('log.test.ts') });
    expect(other.err).toMatchObject({ type: 'TypeError', message: 'boom', stack: expect.stringContaining('log.test.ts') });
  });

  it('prints a warning repeated per request once, then one summary line with the count', () => {
    const out = capture();
    let now = 0;
    const logger = rootLogger('info', { format: 'pretty', write: out.write, now: () => now }).child({ component: 'edge-node', node: 'e1' });
    const err = new DynasplitError(ErrorCodes.BAD_FRAME, 'wrong input shape');
    for (let i = 0; i < 8; i++) {
      now += 10;
      logger.warn({ err }, 'frame refused');
    }
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).toContain('frame refused  code=DYNASPLIT_ERR_BAD_FRAME');
    flushLogRepeats();
    expect(out.lines).toHaveLength(2);
    expect(out.lines[1]).toContain('edge-node e1: frame refused (7 more like this in 1 s)');
  });

  it('summarises repeats as a JSON line too, with the count in a field', () => {
    const out = capture();
    const logger = rootLogger('info', { write: out.write });
    logger.warn({ code: 'DYNASPLIT_ERR_TIMEOUT' }, 'no answer');
    logger.warn({ code: 'DYNASPLIT_ERR_TIMEOUT' }, 'no answer');
    flushLogRepeats();
    expect(out.lines).toHaveLength(2);
    expect(JSON.parse(out.lines[1])).toMatchObject({ level: 40, code: 'DYNASPLIT_ERR_TIMEOUT', repeated: 1, msg: 'no answer (1 more like this in 1 s)' });
  });

  it("summarises on pino's logger.flush and calls its callback", async () => {
    const out = capture();
    const logger = rootLogger('info', { write: out.write });
    logger.warn('again');
    logger.warn('again');
    await new Promise<void>((resolve, reject) => logger.flush((err) => (err ? reject(err) : resolve())));
    expect(out.lines).toHaveLength(2);
  });

  it('closes a window of repeats on its own after repeatWindowMs', async () => {
    const out = capture();
    const logger = rootLogger('info', { write: out.write, repeatWindowMs: 20 });
    logger.warn('flaky');
    logger.warn('flaky');
    await expect.poll(() => out.lines.length).toBe(2);
    expect(JSON.parse(out.lines[1])).toMatchObject({ repeated: 1 });
  });

  it("summarises a step's repeats when its progress bar ends, right below the bar", () => {
    const screen: string[] = [];
    const write = (text: string) => { screen.push(text); };
    const progress = createProgress({ write, isTTY: true }, 'work', 3);
    const logger = rootLogger('info', { format: 'pretty', write });
    for (let done = 1; done <= 3; done++) {
      logger.warn({ code: 'DYNASPLIT_ERR_EXPIRED' }, 'request failed');
      progress.update(done);
    }
    progress.done();
    expect(screen.at(-2)).toMatch(/^\rwork \[#+\] 100%/);
    expect(screen.at(-1)).toMatch(/WARN {2}request failed \(2 more like this in 1 s\) {2}code=DYNASPLIT_ERR_EXPIRED\n$/);
  });

  it('never writes into a progress bar: the bar is cleared, the line printed, the bar redrawn', () => {
    const screen: string[] = [];
    const write = (text: string) => { screen.push(text); };
    const progress = createProgress({ write, isTTY: true }, 'work', 10);
    progress.update(4);
    const bar = screen.at(-1)!;
    rootLogger('info', { format: 'pretty', write }).warn('careful');
    expect(screen.at(-3)).toBe('\r\x1b[K');
    expect(screen.at(-2)).toContain('WARN  careful');
    expect(screen.at(-1)).toBe(bar);
  });
});
