import { describe, expect, it } from 'vitest';
import { DYNAMO_BACKOFF_CAP_MS, DYNAMO_MAX_ATTEMPTS, storeBackoffMs } from '../../shared/db/client';

describe('the store retry policy', () => {
  it('is small: a request waits on at most a few attempts', () => {
    expect(DYNAMO_MAX_ATTEMPTS).toBeGreaterThanOrEqual(2);
    expect(DYNAMO_MAX_ATTEMPTS).toBeLessThanOrEqual(4);
  });

  it('backs off exponentially with full jitter, never past the cap', () => {
    expect(storeBackoffMs(1, () => 0)).toBe(0);
    expect(storeBackoffMs(1, () => 0.999)).toBe(39);
    expect(storeBackoffMs(2, () => 0.999)).toBe(79);
    for (let attempt = 1; attempt < 20; attempt++)
      expect(storeBackoffMs(attempt, () => 0.999_999)).toBeLessThanOrEqual(DYNAMO_BACKOFF_CAP_MS);
    const draws = new Set(Array.from({ length: 50 }, () => storeBackoffMs(3)));
    expect(draws.size).toBeGreaterThan(5);
  });
});
