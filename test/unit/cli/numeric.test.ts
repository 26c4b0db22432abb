/** Numbers from flags and variables: blank text is no number (Number('') is 0). */
import { describe, expect, it } from 'vitest';
import { intOption, numeric } from '../../../cli/command.ts';
import { numberFlag } from '../../../cli/env.ts';

const args = (values: Record<string, string>) => ({ positionals: [], values });

describe('numeric flags', () => {
  it('reads numbers, and blank text as NaN', () => {
    expect(numeric('12')).toBe(12);
    expect(numeric('0')).toBe(0);
    expect(numeric('')).toBeNaN();
    expect(numeric('  ')).toBeNaN();
  });

  it('refuses an empty value instead of taking it as 0', () => {
    expect(() => numberFlag(args({ 'wait-for-edge': '' }), 'wait-for-edge')).toThrow(/--wait-for-edge must be a number, got ''/);
    expect(() => intOption(args({ port: '' }), 'port', 1883)).toThrow(/--port must be a non-negative integer \(at most \d+\), got ''/);
    expect(numberFlag(args({ rate: '2.5' }), 'rate')).toBe(2.5);
  });

  it('refuses an integer past exact range, which would be read as another', () => {
    expect(() => intOption(args({ requests: '99999999999999999999' }), 'requests', 1)).toThrow(/--requests must be a non-negative integer \(at most 9007199254740991\)/);
    expect(intOption(args({ requests: '9007199254740991' }), 'requests', 1)).toBe(Number.MAX_SAFE_INTEGER);
  });
});
