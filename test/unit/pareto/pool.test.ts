import { describe, expect, it } from 'vitest';
import { aggregatePool, POOL_COLUMNS, poolRow, readPool, writePool, type PoolRow } from '../../../pareto/index.ts';

const HEADER = POOL_COLUMNS.join(',');

function rows(): PoolRow[] {
  return [
    poolRow({ model: 'vgg16', configuration: 'split@features.pool3/fp16[1200MHz,2t]', cut: 'features.pool3', codec: 'fp16', edgeFrequencyMhz: 1200, edgeThreads: 2,
      edgeAccelerator: 'none', cloudAccelerator: 'gpu', latencyMs: 41.25, energyJ: 1.5, accuracy: 0.99, edgeComputeMs: 20, transferMs: 15.5,
      cloudComputeMs: 5.75, tensorBytes: 401408, latencySource: 'measured', energySource: 'modelled' }),
    poolRow({ model: 'vgg16', configuration: 'name, with "quotes"\nand a line break', latencyMs: 10, energyJ: 3, baseline: 'cloud-only' }),
    poolRow({ model: 'vgg16', configuration: 'edge-only', cut: 'output', latencyMs: 0.1 + 0.2, energyJ: 1e-7, baseline: 'edge-only' }),
  ];
}

describe('measurement pool CSV', () => {
  it('round-trips rows, unknown figures included', () => {
    const text = writePool(rows());
    expect(text.split('\n')[0]).toBe(HEADER);
    const back = readPool(text);
    expect(back).toEqual(rows());
    expect(Number.isNaN(back[1].accuracy)).toBe(true);
    expect(writePool(back)).toBe(text);
  });

  it('reads CRLF, a BOM, extra columns in any order, and skips blank lines', () => {
    const cells: Record<string, string> = { model: 'm', configuration: 'cloud-only/fp32', cut: 'input', latency_ms: '12', energy_j: '2', accuracy: '0.5', baseline: 'cloud-only' };
    const columns = ['extra', ...[...POOL_COLUMNS].reverse()];
    const text = `\ufeff${columns.join(',')}\r\n\r\n${columns.map((c) => cells[c] ?? '').join(',')}\r\n`;
    const [row] = readPool(text);
    expect(row).toMatchObject({ model: 'm', configuration: 'cloud-only/fp32', cut: 'input', latencyMs: 12, energyJ: 2, accuracy: 0.5, baseline: 'cloud-only' });
  });

  it('names the line of a bad row in a coded error', () => {
    const good = writePool(rows()).trimEnd().split('\n');
    // rows()[1] spans two physical lines (a quoted line break): the third record starts on line 5.
    const bad = [...good.slice(0, 4), good[4].replace('0.30000000000000004', 'fast')].join('\n');
    expect(() => readPool(bad)).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_ARGS', details: { line: 5, column: 'latency_ms' } }));
    expect(() => readPool(`${HEADER}\nm,c,,,,,,,-1,1,,,,,,,,`)).toThrow(/line 2: latency_ms must be a non-negative number/);
    expect(() => readPool(`${HEADER}\nm,c,,,1.5,,,,1,1,,,,,,,,`)).toThrow(/line 2: edge_frequency_mhz must be a non-negative integer/);
    expect(() => readPool(`${HEADER}\nm,c,,,,,,,1,1,,,,,,,,both`)).toThrow(/line 2: baseline must be one of/);
    expect(() => readPool(`${HEADER}\nm,,,,,,,,1,1,,,,,,,,`)).toThrow(/line 2: configuration must not be empty/);
    expect(() => readPool('model,configuration\n')).toThrow(expect.objectContaining({ details: expect.objectContaining({ line: 1 }) }));
    expect(() => readPool(`${HEADER}\n"m,c,,,,,,,1,1,,,,,,,,\n`)).toThrow(/line 2: quoted field never closed/);
    // A row cut short (a truncated file) or run on; an accuracy beyond 1; a source no figure has.
    expect(() => readPool(`${HEADER}\nm,c,,,,,,,1,1,,,,,,,,\nm,c,,,,,,,1,0.`)).toThrow(/line 3: 10 fields, the header has 18 \(a truncated or hand-edited file\?\)/);
    expect(() => readPool(`${HEADER}\nm,c,,,,,,,1,1,,,,,,,,,`)).toThrow(/line 2: 19 fields, the header has 18/);
    expect(() => readPool(`${HEADER}\nm,c,,,,,,,1,1,1.5,,,,,,,`)).toThrow(/line 2: accuracy must be empty or a number within 0..1, got '1.5'/);
    expect(() => readPool(`${HEADER}\nm,c,,,,,,,1,1,,,,,,bogus,,`)).toThrow(/line 2: latency_source must be one of '', measured, emulated, modelled, got 'bogus'/);
  });
});

describe('aggregation per configuration', () => {
  it('takes the median and nearest-rank p95 of latency and the mean of energy and accuracy', () => {
    const run = (latencyMs: number, energyJ: number, accuracy = NaN, latencySource = 'measured') =>
      poolRow({ model: 'm', configuration: 'a', latencyMs, energyJ, accuracy, latencySource, energySource: 'modelled' });
    const runs = [run(5, 1, 1), run(1, 2, 0.5), run(3, 3), run(2, 6, NaN, 'emulated')];
    const other = Array.from({ length: 20 }, (_, i) => poolRow({ model: 'm', configuration: 'b', latencyMs: 20 - i, energyJ: 1, baseline: i === 3 ? 'edge-only' : '' }));
    const [a, b] = aggregatePool([...runs, ...other]);
    expect(a).toMatchObject({ runs: 4, latencyMs: 2.5, latencyP95Ms: 5, energyJ: 3, accuracy: 0.75, accuracyRuns: 2, latencySource: 'mixed', energySource: 'modelled', baseline: '' });
    expect(a.configuration.name).toBe('a');
    expect(b).toMatchObject({ runs: 20, latencyMs: 10.5, latencyP95Ms: 19, accuracy: 1, accuracyRuns: 0, baseline: 'edge-only' });
    expect(aggregatePool(other, { unknownAccuracy: 0 })[0].accuracy).toBe(0);
  });

  it('keeps models apart and orders by first appearance', () => {
    const r = (model: string, configuration: string) => poolRow({ model, configuration, latencyMs: 1, energyJ: 1 });
    expect(aggregatePool([r('x', 'b'), r('y', 'a'), r('x', 'a'), r('x', 'b')]).map((g) => `${g.model}/${g.configuration.name}/${g.runs}`))
      .toEqual(['x/b/2', 'y/a/1', 'x/a/1']);
  });
});
