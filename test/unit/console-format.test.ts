import { describe, expect, it } from 'vitest';
import { fmtScore } from '../../web/src/lib/format';

describe("the console's sentiment score", () => {
  it('has two decimals, whatever float the API sent', () => {
    expect(fmtScore(-0.09999999999999998)).toBe('-0.10');
    expect(fmtScore(0.30000000000000004)).toBe('0.30');
    expect(fmtScore(1)).toBe('1.00');
    expect(fmtScore(-1)).toBe('-1.00');
  });

  it('is never a signed zero', () => {
    expect(fmtScore(-0.001)).toBe('0.00');
    expect(fmtScore(-0)).toBe('0.00');
    expect(fmtScore(0)).toBe('0.00');
  });
});
