import { describe, expect, it } from 'vitest';
import { aggregatePool, importCsv, readPool, writePool, type ImportOptions } from '../../../pareto/index.ts';

// A testbed's own export: a BOM, CRLF, names with spaces, parentheses and units, quoted fields.
const CSV = '\ufeff' + [
  'Run #,Split Layer,"CPU Freq (MHz)",TPU Mode,GPU,"Latency (ms)",Energy (J),Accuracy (%)',
  '1,"features.pool3, early",1200,max,yes,41.5,1.25,91.0',
  '2,"features.pool3, early",1200,max,yes,39.5,1.75,93.0',
  '3,input,1800,off,yes,20,3.5,92',
  '4,output,600,max,no,180,0.9,90',
  '5,"say ""hi""",600,off,no,50,2,',
].join('\r\n') + '\r\n';

const OPTIONS: ImportOptions = {
  configColumns: ['Split Layer', 'cpu freq (mhz)', 'TPU Mode', 'GPU'],
  latencyColumn: 'Latency (ms)',
  energyColumn: 'Energy (J)',
  accuracyColumn: 'Accuracy (%)',
  accuracyScale: 0.01,
  cloudOnly: { 'Split Layer': 'input' },
  edgeOnly: { 'Split Layer': 'output', GPU: 'no' },
  knobColumns: { cut: 'Split Layer', edge_frequency_mhz: 'CPU Freq (MHz)', edge_accelerator: 'TPU Mode' },
  model: 'vgg16',
  latencySource: 'measured',
  energySource: 'measured',
};

describe('importCsv', () => {
  it('turns odd column names, quoted fields, CRLF and a BOM into pool rows', () => {
    const result = importCsv(CSV, OPTIONS);
    expect(result).toMatchObject({ records: 5, rejected: 0, errors: [] });
    const [first, , cloud, edge, quoted] = result.rows;
    expect(first).toMatchObject({
      model: 'vgg16', configuration: 'Split Layer=features.pool3, early,CPU Freq (MHz)=1200,TPU Mode=max,GPU=yes',
      cut: 'features.pool3, early', edgeFrequencyMhz: 1200, edgeAccelerator: 'max', latencyMs: 41.5, energyJ: 1.25, baseline: '',
      latencySource: 'measured', energySource: 'measured',
    });
    expect(first.accuracy).toBeCloseTo(0.91, 12);
    expect(cloud.baseline).toBe('cloud-only');
    expect(edge.baseline).toBe('edge-only');
    expect(quoted.configuration).toContain('Split Layer=say "hi"');
    expect(Number.isNaN(quoted.accuracy)).toBe(true);
  });

  it('gives rows the pool can store and aggregate', () => {
    const pool = readPool(writePool(importCsv(CSV, OPTIONS).rows));
    const [split] = aggregatePool(pool);
    expect(split).toMatchObject({ runs: 2, latencyMs: 40.5, energyJ: 1.5 });
    expect(split.accuracy).toBeCloseTo(0.92, 12);
  });

  it('reports every bad row with its line number and keeps the good ones', () => {
    const bad = [
      'config,latency,energy',
      'a,10,1',
      'b,fast,1',
      '"c',
      'still c",10,-2',
      'd,10',
      'e,,1',
      'f,1e400,1',
      'g,5,0.5',
    ].join('\n');
    const result = importCsv(bad, { configColumns: ['config'], latencyColumn: 'latency', energyColumn: 'energy' });
    expect(result.rows.map((r) => r.configuration)).toEqual(['config=a', 'config=g']);
    expect(result.rejected).toBe(5);
    expect(result.errors).toEqual([
      { line: 3, message: "latency 'fast' is not a non-negative number" },
      { line: 4, message: "energy '-2' is not a non-negative number" },
      { line: 6, message: '2 fields, the header has 3' },
      { line: 7, message: "latency '' is not a non-negative number" },
      { line: 8, message: "latency '1e400' is not a non-negative number" },
    ]);
    const capped = importCsv(bad, { configColumns: ['config'], latencyColumn: 'latency', energyColumn: 'energy', maxErrors: 2 });
    expect(capped.rejected).toBe(5);
    expect(capped.errors.map((e) => e.line)).toEqual([3, 4]);
  });

  it('rejects accuracy over 1 and rows that match both baselines', () => {
    const csv = 'k,lat,en,acc\nx,1,1,95\ny,1,1,0.5\n';
    const result = importCsv(csv, { configColumns: ['k'], latencyColumn: 'lat', energyColumn: 'en', accuracyColumn: 'acc', cloudOnly: { k: 'y' }, edgeOnly: { k: 'y' } });
    expect(result.errors).toEqual([
      { line: 2, message: 'accuracy 95 is over 1 (percentages need an accuracy scale of 0.01)' },
      { line: 3, message: 'matches both the cloud-only and the edge-only baseline' },
    ]);
  });

  it('names unknown columns and lists the available ones', () => {
    const options = { ...OPTIONS, latencyColumn: 'latency_ms', edgeOnly: { Device: 'pi' } };
    expect(() => importCsv(CSV, options)).toThrow(expect.objectContaining({
      code: 'DYNASPLIT_ERR_BAD_ARGS',
      message: expect.stringMatching(/no column 'latency_ms', 'Device' in the CSV; available: 'Run #', 'Split Layer', 'CPU Freq \(MHz\)'/),
      details: expect.objectContaining({ missing: ['latency_ms', 'Device'] }),
    }));
    expect(() => importCsv(CSV, { ...OPTIONS, configColumns: [] })).toThrow(/no configuration columns/);
  });
});
