import { describe, expect, it } from 'vitest';
import { expectError, login, newOwner } from '../../support/accounts';
import { createHarness } from '../../support/harness';

/**
 * A clock that moves only when told, from 5 s into a minute: the fixed windows the limits count
 * in are then the same however slowly a loaded machine runs the test.
 */
function clock() {
  let at = Math.floor(Date.now() / 60_000) * 60_000 + 5_000;
  return { now: () => new Date(at), advance: (ms: number) => (at += ms) };
}

const WINDOW = 60;

/** Credential stuffing: each lockout in a row lasts twice the last, says so, and is audited. */
describe('login lockout with exponential back-off', () => {
  it('per address: 60 s, then 120 s, then 240 s; the right password is refused while locked; success forgets', async () => {
    const time = clock();
    const h = await createHarness({
      now: time.now,
      env: { LOGIN_WINDOW_SECONDS: String(WINDOW), LOGIN_MAX_FAILURES_PER_EMAIL: '2' },
    });
    const owner = await newOwner(h);
    const wrong = { json: { email: owner.email, password: 'not the password' } };
    const right = { json: { email: owner.email, password: owner.password } };

    const retries: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++)
        await expectError(await h.call('/auth/login', wrong), 401, 'invalid_credentials');
      const locked = await h.call('/auth/login', wrong);
      await expectError(locked, 429, 'rate_limited');
      const retry = Number(locked.headers.get('retry-after'));
      retries.push(retry);
      // While locked, even the right password is refused, with the time left.
      time.advance((retry / 2) * 1000);
      const still = await h.call('/auth/login', right);
      await expectError(still, 429, 'rate_limited');
      expect(Number(still.headers.get('retry-after'))).toBeLessThanOrEqual(Math.ceil(retry / 2) + 1);
      time.advance((retry / 2) * 1000 + 1000);
    }
    expect(retries).toEqual([WINDOW, 2 * WINDOW, 4 * WINDOW]);

    // The right password after the lockout works, and forgets the strikes: the next lockout is short again.
    await login(h, owner.email, owner.password);
    for (let i = 0; i < 2; i++)
      await expectError(await h.call('/auth/login', wrong), 401, 'invalid_credentials');
    const again = await h.call('/auth/login', wrong);
    await expectError(again, 429, 'rate_limited');
    expect(Number(again.headers.get('retry-after'))).toBe(WINDOW);

    // Each lockout is in the audit log, against the tenant, without the address or a password.
    const page = await h.stores.audit.list({ limit: 50 });
    if (page === 'bad_cursor') throw new Error('bad cursor');
    const lockouts = page.entries.filter(
      (e) => e.action === 'auth.login_lockout' && e.target.id === owner.tenantId,
    );
    expect(lockouts.map((e) => e.after?.strikes).sort()).toEqual([1, 1, 2, 3]);
    expect(lockouts[0]?.after).toMatchObject({ userId: owner.userId });
    expect(JSON.stringify(lockouts)).not.toContain(owner.email);
    // And in the log, without the address or the password.
    const lines = h.logs.filter((l) => l.includes('login locked out'));
    expect(lines).toHaveLength(4);
    expect(lines.join('')).not.toContain(owner.email);
    expect(lines.join('')).not.toContain('not the password');
    expect(JSON.parse(lines[0]!)).toMatchObject({
      bucket: 'login-email',
      strikes: 1,
      retryAfterSeconds: WINDOW,
    });
  });

  it('per client IP, across addresses, with the same back-off; other IPs are not affected', async () => {
    const time = clock();
    const h = await createHarness({
      now: time.now,
      env: {
        LOGIN_WINDOW_SECONDS: String(WINDOW),
        LOGIN_MAX_FAILURES_PER_IP: '3',
        LOGIN_LOCKOUT_MAX_SECONDS: '100',
      },
    });
    const ip = { 'x-test-client-ip': '203.0.113.9' };
    const guess = (i: number) => ({
      json: { email: `stuffed${i}@example.com`, password: 'hunter2' },
      headers: ip,
    });
    const retries: number[] = [];
    let n = 0;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3; i++)
        await expectError(await h.call('/auth/login', guess(n++)), 401, 'invalid_credentials');
      const locked = await h.call('/auth/login', guess(n++));
      await expectError(locked, 429, 'rate_limited');
      retries.push(Number(locked.headers.get('retry-after')));
      await expectError(
        await h.call('/auth/login', {
          json: { email: 'someone@example.com', password: 'x' },
          headers: { 'x-test-client-ip': '203.0.113.10' },
        }),
        401,
        'invalid_credentials',
      );
      time.advance(retries.at(-1)! * 1000 + 1000);
    }
    // Doubling, capped by LOGIN_LOCKOUT_MAX_SECONDS.
    expect(retries).toEqual([WINDOW, 100]);
  });
});
