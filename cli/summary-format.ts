/** How a sensor's run shows on a terminal: a progress line while it runs, a table at the end. */
import { createProgress, type Progress } from '../common/index.ts';
import type { RunSummary } from '../sensor/index.ts';
import type { Io } from './command.ts';
import { formatEnergy, formatMs, table } from './format.ts';

export function sensorProgress(io: Io): (sent: number, answered: number, total: number) => void {
  let progress: Progress | undefined;
  let finished = false;
  return (sent, answered, total) => {
    progress ??= createProgress({ write: io.stderr, isTTY: io.isTTY }, 'requests answered', total);
    if (finished) return;
    if (answered >= total) {
      finished = true;
      progress.done(`(sent ${sent})`);
    } else {
      progress.update(answered, `(sent ${sent})`);
    }
  };
}

export function summaryText(s: RunSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const ms = formatMs;
  const rows = [
    ['requests', String(s.requests)],
    ['results', String(s.results)],
    ['errors', `${s.errors}${s.errors ? ` (${Object.entries(s.errorsByCode).map(([c, n]) => `${c} ${n}`).join(', ')})` : ''}`],
    ['unanswered', String(s.unanswered)],
    ['budgets met', pct(s.budgetMetRate)],
    [`latency p50 / p95 / p99 (measured at the sensor${s.computeSource.startsWith('emulated') ? '; compute emulated' : ''})`,
      s.latencyMs ? `${ms(s.latencyMs.p50)} / ${ms(s.latencyMs.p95)} / ${ms(s.latencyMs.p99)}` : 'none (no request answered with a prediction)'],
    ['completed on the edge after a cloud miss', String(s.edgeFallbacks)],
    ['energy per inference', s.energy ? `${formatEnergy(s.energy.meanJ)} (${s.energy.source})` : 'not metered (no energy meter configured)'],
  ];
  const configs = Object.entries(s.configurations).sort((a, b) => b[1] - a[1]).map(([name, n]) => [name, String(n)]);
  return `\n${table(['summary', ''], rows)}\n${table(['configuration', 'results'], configs)}`;
}
