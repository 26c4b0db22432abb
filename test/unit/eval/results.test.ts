/** Reading and checking a results file (eval/results.ts). */
import { describe, expect, it } from 'vitest';
import { parseResults } from '../../../eval/index.ts';
import { isDynasplitError } from '../../../common/index.ts';
import { figures, handMade } from './report-fixture.ts';

function thrown(fn: () => unknown): { code: string; message: string; details: Record<string, unknown> } {
  try {
    fn();
  } catch (err) {
    if (isDynasplitError(err)) return { code: err.code, message: err.message, details: err.details };
    throw err;
  }
  throw new Error('did not throw');
}

describe('parseResults', () => {
  const good = JSON.stringify(handMade);

  it('reads a results file, NaN figures (written as null) back as NaN', () => {
    const r = parseResults(JSON.stringify({ strategies: { a: { ...figures({}), meanLatencyMs: NaN } } }), 'r.json');
    expect(r.strategies.a.meanLatencyMs).toBeNaN();
    expect(r.strategies.a.savingsVsCloudOnly).toBeNull();
    expect(r.strategies.a).not.toHaveProperty('meanQueueWaitMs');
    const queued = parseResults(JSON.stringify({ strategies: { a: { ...figures({}), meanQueueWaitMs: 3, meanEdgeWaitMs: null } } }), 'r.json');
    expect([queued.strategies.a.meanQueueWaitMs, queued.strategies.a.meanEdgeWaitMs]).toEqual([3, NaN]);
    expect(parseResults(good, 'r.json').strategies.dynasplit.meanEnergyJ).toBe(1.06);
  });

  it('names the file and the field at the first fault', () => {
    expect(thrown(() => parseResults('{ nope', 'bad.json'))).toMatchObject({ code: 'DYNASPLIT_ERR_BAD_ARGS', message: expect.stringMatching(/^bad\.json: not JSON/) });
    expect(thrown(() => parseResults('[]', 'x.json')).message).toMatch(/^x\.json: the file must be a JSON object/);
    expect(thrown(() => parseResults('{"strategies":{}}', 'x.json')).message).toBe('x.json: strategies holds no strategy');
    const badFigure = { strategies: { a: { ...figures({}), meanEnergyJ: 'lots' } } };
    expect(thrown(() => parseResults(JSON.stringify(badFigure), 'x.json'))).toMatchObject({
      message: 'x.json: strategies.a.meanEnergyJ must be a number or null, got "lots"', details: { file: 'x.json', field: 'strategies.a.meanEnergyJ' },
    });
    const badRequests = { strategies: { a: { ...figures({}), requests: -1 } } };
    expect(thrown(() => parseResults(JSON.stringify(badRequests), 'x.json')).message).toMatch(/strategies\.a\.requests must be a non-negative integer, got -1/);
  });

  it('checks records and meta', () => {
    const base = { strategies: { a: figures({}) } };
    const record = { budgetMs: 100, latencyMs: 90, energyJ: 1, accuracy: null, configuration: 'c', met: true };
    const ok = parseResults(JSON.stringify({ ...base, records: { a: [record, { ...record, latencyMs: 120, met: undefined }] }, recordsSampled: true }), 'x.json');
    expect(ok.records!.a.map((r) => r.met)).toEqual([true, false]);
    expect(ok.records!.a[0].accuracy).toBeNaN();
    expect(ok.recordsSampled).toBe(true);
    expect(thrown(() => parseResults(JSON.stringify({ ...base, records: { b: [] } }), 'x.json')).message).toMatch(/records\.b names no strategy in strategies \(a\)/);
    expect(thrown(() => parseResults(JSON.stringify({ ...base, records: { a: [{ ...record, energyJ: 'x' }] } }), 'x.json')).message)
      .toMatch(/records\.a\[0\]\.energyJ must be a number/);
    expect(thrown(() => parseResults(JSON.stringify({ ...base, meta: { source: 'guessed' } }), 'x.json')).message).toMatch(/meta\.source must be 'simulated' or 'testbed'/);
    expect(thrown(() => parseResults(JSON.stringify({ ...base, meta: { sources: { energy: 3 } } }), 'x.json')).message).toMatch(/meta\.sources\.energy must be a source/);
  });
});
