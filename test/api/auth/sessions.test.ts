import { decodeProtectedHeader } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectError, json, login, newOperator, newOwner, type TestUser } from '../../support/accounts';
import { createHarness, type Harness } from '../../support/harness';

function clock() {
  let offsetMs = 0;
  return { now: () => new Date(Date.now() + offsetMs), advance: (ms: number) => (offsetMs += ms) };
}

const cookieNamed = (res: Response, name: string) =>
  res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));

describe('login', () => {
  let h: Harness;
  let owner: TestUser;
  beforeAll(async () => {
    h = await createHarness();
    owner = await newOwner(h);
  });

  it('returns the session as HttpOnly SameSite=Strict cookies and as bearer tokens', async () => {
    const res = await h.call('/auth/login', { json: { email: owner.email, password: owner.password } });
    expect(res.status).toBe(200);
    const body = await json<Record<string, unknown>>(res);
    expect(body).toMatchObject({ object: 'session', token_type: 'Bearer', expires_in: 900 });
    expect(body.refresh_token).toMatch(/^tgr_[A-Za-z0-9_-]{43}$/);
    const access = cookieNamed(res, 'tg_session')!;
    expect(access).toContain(`tg_session=${body.access_token}`);
    expect(access).toMatch(/HttpOnly/);
    expect(access).toMatch(/SameSite=Strict/);
    expect(access).toMatch(/Path=\//);
    expect(access).toMatch(/Max-Age=900/);
    // On localhost over plain http a Secure cookie would be dropped by the browser.
    expect(access).not.toMatch(/Secure/);
    const refresh = cookieNamed(res, 'tg_refresh')!;
    expect(refresh).toMatch(/Path=\/auth/);
    expect(refresh).toMatch(/HttpOnly/);
  });

  it('marks the cookies Secure anywhere but localhost', async () => {
    const res = await h.app.request('https://api.example.com/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: owner.email, password: owner.password }),
    });
    expect(res.status).toBe(200);
    for (const name of ['tg_session', 'tg_refresh']) expect(cookieNamed(res, name)).toMatch(/; Secure/);
  });

  it('the token works as a bearer token and as the cookie', async () => {
    const { body, cookie } = await login(h, owner.email, owner.password);
    expect((await h.call('/account', { key: body.access_token })).status).toBe(200);
    expect((await h.call('/account', { headers: { cookie } })).status).toBe(200);
  });

  it('a wrong password and an unknown address get the same 401', async () => {
    const a = await expectError(
      await h.call('/auth/login', { json: { email: owner.email, password: 'not the password' } }),
      401,
      'invalid_credentials',
    );
    const b = await expectError(
      await h.call('/auth/login', {
        json: { email: 'nobody-at-all@example.com', password: 'not the password' },
      }),
      401,
      'invalid_credentials',
    );
    expect(a.message).toBe(b.message);
  });

  it.each([
    [{ password: 'x' }, 'email'],
    [{ email: 'a@example.com' }, 'password'],
    [{ email: 'a@example.com', password: '' }, 'password'],
  ])('bad input %j is 400 naming the field', async (body, param) => {
    await expectError(await h.call('/auth/login', { json: body }), 400, 'invalid_request', param);
  });

  it('publishes the public key the tokens are signed with', async () => {
    const res = await h.call('/.well-known/jwks.json');
    const { keys } = await json<{ keys: { kid: string; d?: string }[] }>(res);
    expect(keys.map((k) => k.kid)).toContain(decodeProtectedHeader(owner.token).kid);
    expect(keys.every((k) => k.d === undefined)).toBe(true);
  });

  it('operators log in through the same door and get an operator session', async () => {
    const op = await newOperator(h);
    expect((await h.call('/admin/tenants', { key: op.token })).status).toBe(200);
    await expectError(await h.call('/account', { key: op.token }), 403, 'forbidden');
    await expectError(await h.call('/admin/tenants', { key: owner.token }), 403, 'forbidden');
  });
});

describe('login rate limits', () => {
  it('5 failures per address per window, then 429 with Retry-After even for the right password', async () => {
    const time = clock();
    const h = await createHarness({ now: time.now });
    const owner = await newOwner(h);
    const wrong = { email: owner.email, password: 'not the password' };
    for (let i = 0; i < 5; i++)
      await expectError(await h.call('/auth/login', { json: wrong }), 401, 'invalid_credentials');
    const res = await h.call('/auth/login', { json: { email: owner.email, password: owner.password } });
    await expectError(res, 429, 'rate_limited');
    const retry = Number(res.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(900);
    // Another address from the same IP is not affected.
    const other = await newOwner(h);
    await login(h, other.email, other.password);
    // The next window opens.
    time.advance(retry * 1000 + 1000);
    await login(h, owner.email, owner.password);
  });

  it('holds under concurrent guesses: exactly the limit gets through', async () => {
    const h = await createHarness();
    const owner = await newOwner(h);
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        h.call('/auth/login', { json: { email: owner.email, password: 'wrong guess' } }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
  });

  it('successful logins do not use up the budget', async () => {
    const h = await createHarness();
    const owner = await newOwner(h);
    for (let i = 0; i < 6; i++) await login(h, owner.email, owner.password);
  });

  it('failures per client IP are limited across addresses', async () => {
    const h = await createHarness({ env: { LOGIN_MAX_FAILURES_PER_IP: '3' } });
    const ip = { 'x-test-client-ip': '198.51.100.7' };
    for (let i = 0; i < 3; i++) {
      await expectError(
        await h.call('/auth/login', { json: { email: `guess${i}@example.com`, password: 'x' }, headers: ip }),
        401,
        'invalid_credentials',
      );
    }
    await expectError(
      await h.call('/auth/login', { json: { email: 'guess9@example.com', password: 'x' }, headers: ip }),
      429,
      'rate_limited',
    );
    await expectError(
      await h.call('/auth/login', {
        json: { email: 'guess9@example.com', password: 'x' },
        headers: { 'x-test-client-ip': '198.51.100.8' },
      }),
      401,
      'invalid_credentials',
    );
  });
});

describe('refresh and logout', () => {
  let h: Harness;
  const time = clock();
  beforeAll(async () => {
    h = await createHarness({ now: time.now });
  });

  it('an access token expires after 15 minutes; the refresh token gets a new pair', async () => {
    const owner = await newOwner(h);
    time.advance(16 * 60_000);
    try {
      await expectError(await h.call('/account', { key: owner.token }), 401, 'token_expired');
      const res = await h.call('/auth/refresh', { json: { refresh_token: owner.refreshToken } });
      expect(res.status).toBe(200);
      const next = await json<{ access_token: string; refresh_token: string; session_id: string }>(res);
      expect(next.session_id).toBe(owner.sessionId);
      expect(next.refresh_token).not.toBe(owner.refreshToken);
      expect((await h.call('/account', { key: next.access_token })).status).toBe(200);
    } finally {
      time.advance(-16 * 60_000);
    }
  });

  it('a refresh token used twice ends the whole session (reuse means it was copied)', async () => {
    const owner = await newOwner(h);
    const first = await json<{ access_token: string; refresh_token: string }>(
      await h.call('/auth/refresh', { json: { refresh_token: owner.refreshToken } }),
    );
    const err = await expectError(
      await h.call('/auth/refresh', { json: { refresh_token: owner.refreshToken } }),
      401,
      'invalid_token',
      'refresh_token',
    );
    expect(err.message).toMatch(/already used/);
    await expectError(await h.call('/account', { key: first.access_token }), 401, 'invalid_token');
    await expectError(
      await h.call('/auth/refresh', { json: { refresh_token: first.refresh_token } }),
      401,
      'invalid_token',
    );
  });

  it('the refresh cookie works from this site and is refused from another', async () => {
    const owner = await newOwner(h);
    const cookie = `tg_refresh=${owner.refreshToken}`;
    await expectError(
      await h.call('/auth/refresh', { json: {}, headers: { cookie, origin: 'https://evil.example' } }),
      403,
      'forbidden',
    );
    const res = await h.call('/auth/refresh', { json: {}, headers: { cookie, origin: 'http://localhost' } });
    expect(res.status).toBe(200);
    expect(cookieNamed(res, 'tg_session')).toBeDefined();
  });

  it('sessions end after 30 days however often they are refreshed', async () => {
    const owner = await newOwner(h);
    time.advance(31 * 86_400_000);
    try {
      await expectError(
        await h.call('/auth/refresh', { json: { refresh_token: owner.refreshToken } }),
        401,
        'invalid_token',
      );
    } finally {
      time.advance(-31 * 86_400_000);
    }
  });

  it('logout ends the session at once: access and refresh tokens are dead, cookies cleared', async () => {
    const owner = await newOwner(h);
    const other = await login(h, owner.email, owner.password);
    const res = await h.call('/auth/logout', { method: 'POST', key: owner.token });
    expect(res.status).toBe(204);
    expect(cookieNamed(res, 'tg_session')).toMatch(/Max-Age=0/);
    await expectError(await h.call('/account', { key: owner.token }), 401, 'invalid_token');
    await expectError(
      await h.call('/auth/refresh', { json: { refresh_token: owner.refreshToken } }),
      401,
      'invalid_token',
    );
    // Only that session: the other one is untouched.
    expect((await h.call('/account', { key: other.body.access_token })).status).toBe(200);
  });

  it.each([
    [{ refresh_token: 'tgr_nope' }, 'refresh_token', 401],
    [{ refresh_token: 42 }, 'refresh_token', 400],
  ])('a bad refresh token %j is refused naming the field', async (body, param, status) => {
    const res = await h.call('/auth/refresh', { json: body });
    expect(res.status).toBe(status);
    expect((await json<{ error: { param: string } }>(res)).error.param).toBe(param);
  });

  it('without a token or cookie, refresh is 401 missing_credentials', async () => {
    await expectError(await h.call('/auth/refresh', { json: {} }), 401, 'missing_credentials');
  });
});
