import { describe, expect, it } from 'vitest';
import { settlesWithin } from '../../../common/index.ts';

describe('settlesWithin', () => {
  it('true for work done in time, false for work that never ends, and a rejection passes through', async () => {
    expect(await settlesWithin(Promise.resolve('done'), 60_000)).toBe(true);
    expect(await settlesWithin(new Promise(() => undefined), 1)).toBe(false);
    await expect(settlesWithin(Promise.reject(new Error('broke')), 60_000)).rejects.toThrow('broke');
  });
});
