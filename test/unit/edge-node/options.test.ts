import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../common/index.ts';
import { parseEdgeOptions } from '../../../edge-node/index.ts';
import { DEFAULT_FRAME_LIMITS } from '../../../schemas/index.ts';

describe('parseEdgeOptions: the hostile-input bounds', () => {
  it('defaults every frame limit and bound, and takes a partial set of limits', () => {
    const options = parseEdgeOptions({ limits: { requestIdBytes: 64 } });
    expect(options.limits).toEqual({ ...DEFAULT_FRAME_LIMITS, requestIdBytes: 64 });
    expect(options).toMatchObject({ journalMaxBytes: 128 * 1024 * 1024, maxReplays: 3, maxSensorInFlight: 8, maxSensorQueue: 192 });
  });

  it.each([
    [{ limits: { nope: 1 } as never }, /unknown frame limit 'nope'/],
    [{ limits: { maxBudgetMs: 0 } }, /maxBudgetMs must be a positive integer/],
    [{ limits: { tensorRank: Number.NaN } }, /tensorRank/],
    [{ journalMaxBytes: -1 }, /journalMaxBytes/],
    [{ maxSensorInFlight: 0 }, /maxSensorInFlight/],
    [{ maxReplays: 1.5 }, /maxReplays/],
  ])('refuses %o with BAD_ARGS', (partial, message) => {
    expect(() => parseEdgeOptions(partial)).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_ARGS, message: expect.stringMatching(message) }));
  });
});
