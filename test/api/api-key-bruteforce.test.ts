import { describe, expect, it } from 'vitest';
import { generateApiKey } from '../../shared/auth/api-keys';
import { expectError } from '../support/accounts';
import { createHarness } from '../support/harness';

/** Guessing API keys: after a few invalid keys from one IP, 429 instead of 401; valid keys still pass. */
describe('API key brute force', () => {
  it('limits invalid keys per client IP, tells when to retry, logs the IP and never the key', async () => {
    const h = await createHarness({
      env: { API_KEY_MAX_FAILURES_PER_IP: '5', API_KEY_FAILURE_WINDOW_SECONDS: '60' },
    });
    const t = await h.newTenant();
    const attacker = { 'x-test-client-ip': '198.51.100.66' };
    const guesses = Array.from({ length: 8 }, () => generateApiKey().secret);
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (const guess of guesses) {
      const res = await h.call('/v1/models', { key: guess, headers: attacker });
      statuses.push(res.status);
      if (res.status === 429) refused = res;
      else await expectError(res, 401, 'invalid_api_key');
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    await expectError(refused!.clone(), 429, 'rate_limited');
    const retry = Number(refused!.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(60);

    // Malformed headers count too.
    await expectError(
      await h.call('/v1/models', { headers: { ...attacker, authorization: 'Bearer not-a-key' } }),
      429,
      'rate_limited',
    );
    // A valid key from the same IP is still served (the limit is on guessing, not on the address).
    expect((await h.call('/v1/models', { key: t.key, headers: attacker })).status).toBe(200);
    // Another IP is not affected.
    await expectError(
      await h.call('/v1/models', { key: guesses[0], headers: { 'x-test-client-ip': '198.51.100.67' } }),
      401,
      'invalid_api_key',
    );

    const all = h.logs.join('');
    for (const guess of guesses) expect(all).not.toContain(guess);
    const warn = h.logs.filter((l) => l.includes('invalid API keys refused'));
    expect(warn.length).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(warn[0]!)).toMatchObject({ clientIp: '198.51.100.66', reason: 'unknown' });
  });
});
