import { describe, expect, it } from 'vitest';
import { formatEnergy, formatMs } from '../../../cli/format.ts';

describe('figures with the precision that matters', () => {
  it('keeps sub-millisecond latencies', () => {
    expect(formatMs(0.0423)).toBe('0.042 ms');
    expect(formatMs(3.271)).toBe('3.27 ms');
    expect(formatMs(126.44)).toBe('126.4 ms');
    expect(formatMs(12345.6)).toBe('12,346 ms');
  });

  it('puts energy in mJ below 1 J and in J above, to 3 significant digits', () => {
    expect(formatEnergy(0.0004)).toBe('0.4 mJ');
    expect(formatEnergy(0.000412345)).toBe('0.412 mJ');
    expect(formatEnergy(0.0000012)).toBe('0.0012 mJ');
    expect(formatEnergy(0.0123456)).toBe('12.3 mJ');
    expect(formatEnergy(0.204)).toBe('204 mJ');
    expect(formatEnergy(3.14159)).toBe('3.14 J');
    expect(formatEnergy(1234.5)).toBe('1235 J');
    expect(formatEnergy(0)).toBe('0 J');
  });
});
