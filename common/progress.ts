/**
 * Progress for long work (generating VGG16, verifying every cut). On a terminal it redraws one line;
 * elsewhere (CI logs, pipes) it prints a line per 10% so logs stay short.
 */
export interface ProgressSink {
  write(text: string): void;
  isTTY?: boolean;
}

export interface Progress {
  update(done: number, note?: string): void;
  done(note?: string): void;
}

export function createProgress(sink: ProgressSink, label: string, total: number, format: (n: number) => string = String): Progress {
  const started = Date.now();
  let lastDecile = -1;
  let finished = false;
  const line = (done: number, note?: string) => {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const elapsed = (Date.now() - started) / 1000;
    const eta = fraction > 0 && fraction < 1 ? ` eta ${Math.ceil((elapsed / fraction) * (1 - fraction))}s` : '';
    const bar = '#'.repeat(Math.round(fraction * 20)).padEnd(20, '.');
    return `${label} [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${format(done)}/${format(total)} ${elapsed.toFixed(1)}s${eta}${note ? ` ${note}` : ''}`;
  };
  return {
    update(done, note) {
      if (finished) return;
      if (sink.isTTY) {
        sink.write(`\r${line(done, note)}\x1b[K`);
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
      sink.write(`${sink.isTTY ? '\r' : ''}${line(total, note)}${sink.isTTY ? '\x1b[K' : ''}\n`);
    },
  };
}
