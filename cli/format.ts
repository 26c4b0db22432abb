/** Plain-text formatting for command output. */

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ''].join('\n');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** A latency with the precision that matters at its size: 0.042 ms, 3.27 ms, 126.4 ms, 1,234 ms. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return `${ms} ms`;
  const abs = Math.abs(ms);
  if (abs < 1) return `${ms.toFixed(3)} ms`;
  if (abs < 10) return `${ms.toFixed(2)} ms`;
  if (abs < 1000) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms).toLocaleString('en-US')} ms`;
}

/**
 * Energy in mJ below 1 J, in J above, to 3 significant digits: 0.4 mJ, not `0.000 J` (a tiny
 * model's inference costs well under a millijoule, a VGG16 on a Raspberry Pi several joules).
 */
export function formatEnergy(joules: number): string {
  if (!Number.isFinite(joules) || joules === 0) return `${joules} J`;
  const abs = Math.abs(joules);
  return abs >= 1 ? `${significant(joules, 3)} J` : `${significant(joules * 1e3, 3)} mJ`;
}

/** `digits` significant digits, without an exponent and without trailing zeros after the point. */
function significant(value: number, digits: number): string {
  const abs = Math.abs(value);
  const decimals = abs >= 10 ** digits ? 0 : Math.max(0, digits - 1 - Math.floor(Math.log10(abs)));
  return Number(value.toFixed(decimals)).toString();
}
