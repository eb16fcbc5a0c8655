import { describe, expect, it } from 'vitest';
import { fmtScore, keyLabel } from '../../web/src/lib/format';

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

describe("the console's name for an API key", () => {
  it('tells a rotated key from its successor, which has the same name', () => {
    const old = { name: 'laptop', prefix: 'tg_live_Ab12Cd' };
    const successor = { name: 'laptop', prefix: 'tg_live_Xy98Zw' };
    expect(keyLabel(old)).toBe('laptop · tg_live_Ab12Cd…');
    expect(keyLabel(old)).not.toBe(keyLabel(successor));
  });
});
