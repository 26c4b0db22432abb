/**
 * Progress for long work (generating VGG16, verifying every cut). On a terminal it redraws one line;
 * elsewhere (CI logs, pipes) it prints a line per 10% so logs stay short.
 *
 * The line on a terminal is shared with the logs: while a bar is shown, a log line goes through
 * `printAboveProgress`, which clears the bar, prints the line and draws the bar again below it.
 */
export interface ProgressSink {
  write(text: string): void;
  isTTY?: boolean;
}

export interface Progress {
  update(done: number, note?: string): void;
  done(note?: string): void;
}

export interface ProgressOptions {
  /** ms clock; default Date.now (tests pass their own). */
  now?: () => number;
}

/** s of data, and rate samples, before an ETA is shown: the first steps (loading, warm-up) mislead. */
const ETA_AFTER_S = 1;
const ETA_AFTER_SAMPLES = 2;
/** s between rate samples, so a burst of updates does not make one step look infinitely fast. */
const SAMPLE_EVERY_S = 0.25;
/** Weight of the newest rate sample in the smoothed rate (exponential moving average). */
const RATE_SMOOTHING = 0.3;
const CLEAR_LINE = '\r\x1b[K';
/** ms between redraws on a terminal: a bar updated per request would otherwise redraw thousands of times a second. */
const REDRAW_EVERY_MS = 50;

/** The bar on the terminal now, if any: what to clear before a log line and redraw after it. */
let shown: { sink: ProgressSink; text: string } | undefined;
/** Called after any bar's closing line (the logger summarises the warnings of the step there). */
const afterDone = new Set<() => void>();

export function onProgressDone(listener: () => void): void {
  afterDone.add(listener);
}

/** Writes `text` (whole lines) with `write`, keeping the progress bar on the terminal, if any, below it. */
export function printAboveProgress(write: (text: string) => void, text: string): void {
  const bar = shown;
  if (!bar) return write(text);
  bar.sink.write(CLEAR_LINE);
  write(text);
  bar.sink.write(bar.text);
}

export function createProgress(
  sink: ProgressSink, label: string, total: number, format: (n: number) => string = String, options: ProgressOptions = {},
): Progress {
  const now = options.now ?? Date.now;
  const started = now();
  const rate = smoothedRate(started);
  let lastDecile = -1;
  let lastDraw = -Infinity;
  let finished = false;
  const line = (done: number, note?: string) => {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const elapsed = (now() - started) / 1000;
    const eta = fraction < 1 ? rate.eta(total - done) : undefined;
    const bar = '#'.repeat(Math.round(fraction * 20)).padEnd(20, '.');
    return `${label} [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${format(done)}/${format(total)} ${elapsed.toFixed(1)}s`
      + `${eta === undefined ? '' : ` eta ${formatDuration(eta)}`}${note ? ` ${note}` : ''}`;
  };
  return {
    update(done, note) {
      if (finished) return;
      rate.sample(now(), done);
      if (sink.isTTY) {
        const text = `\r${line(done, note)}\x1b[K`;
        shown = { sink, text };
        if (now() - lastDraw < REDRAW_EVERY_MS) return;
        lastDraw = now();
        sink.write(text);
        return;
      }
      const decile = Math.floor((total > 0 ? done / total : 1) * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        sink.write(`${line(done, note)}\n`);
      }
    },
    done(note) {
      if (finished) return;
      finished = true;
      if (shown?.sink === sink) shown = undefined;
      sink.write(`${sink.isTTY ? '\r' : ''}${line(total, note)}${sink.isTTY ? '\x1b[K' : ''}\n`);
      for (const listener of afterDone) listener();
    },
  };
}

/**
 * Units per second, smoothed over samples at least SAMPLE_EVERY_S apart. `eta` says nothing until
 * ETA_AFTER_S of data and ETA_AFTER_SAMPLES samples: an ETA from the first step alone swings from
 * seconds to hours.
 */
function smoothedRate(startMs: number) {
  let lastMs = startMs;
  let lastDone = 0;
  let perSecond: number | undefined;
  let samples = 0;
  return {
    sample(ms: number, done: number): void {
      const dt = (ms - lastMs) / 1000;
      if (dt < SAMPLE_EVERY_S || done < lastDone) return;
      const instant = (done - lastDone) / dt;
      perSecond = perSecond === undefined ? instant : RATE_SMOOTHING * instant + (1 - RATE_SMOOTHING) * perSecond;
      samples++;
      lastMs = ms;
      lastDone = done;
    },
    /** s left for `remaining` units, or undefined while the rate is not known well enough. */
    eta(remaining: number): number | undefined {
      if (perSecond === undefined || perSecond <= 0 || samples < ETA_AFTER_SAMPLES) return undefined;
      if ((lastMs - startMs) / 1000 < ETA_AFTER_S) return undefined;
      return Math.max(0, remaining) / perSecond;
    },
  };
}

/** 42s, 3m05s, 1h02m. */
export function formatDuration(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * A (done, total) callback for work that reports its own total (a model's parameters, a profile's
 * requests): the bar is created on the first call and finished at done >= total.
 */
export function progressCallback(sink: ProgressSink, label: string, format?: (n: number) => string): (done: number, total: number, note?: string) => void {
  let progress: Progress | undefined;
  return (done, total, note) => {
    progress ??= createProgress(sink, label, total, format);
    if (done < total) progress.update(done, note);
    else progress.done();
  };
}

/** Ends the line of a bar left on the terminal (a command that failed mid-way), so what follows starts on its own line. */
export function releaseProgressLine(): void {
  const bar = shown;
  shown = undefined;
  bar?.sink.write('\n');
}
