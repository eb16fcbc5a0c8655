import { beforeAll, describe, expect, it } from 'vitest';
import {
  expectError,
  json,
  login,
  newEmail,
  newOperator,
  newOwner,
  PASSWORD,
  tokenFrom,
} from '../../support/accounts';
import { createHarness, type Harness } from '../../support/harness';

/** A clock the tests move: token expiry without waiting. */
function clock() {
  let offsetMs = 0;
  return { now: () => new Date(Date.now() + offsetMs), advance: (ms: number) => (offsetMs += ms) };
}

async function tenantCount(h: Harness): Promise<number> {
  const page = await h.stores.tenants.list({ limit: 100 });
  return page === 'bad_cursor' ? -1 : page.tenants.length;
}

describe('signup and verification', () => {
  let h: Harness;
  const time = clock();
  beforeAll(async () => {
    h = await createHarness({ now: time.now });
  });

  it('creates a pending tenant and its owner, emails a token, and verifying activates the tenant', async () => {
    const email = newEmail('ada');
    const res = await h.call('/auth/signup', {
      json: { email, password: PASSWORD, name: 'Ada', company: 'Engines Ltd' },
    });
    expect(res.status).toBe(202);
    expect(await json(res)).toMatchObject({ object: 'accepted' });
    const token = tokenFrom(h, email, 'verify_email');
    expect(token).toMatch(/^tgv_[A-Za-z0-9_-]{43}$/);

    // Not yet: the right password is told to verify first.
    await expectError(
      await h.call('/auth/login', { json: { email, password: PASSWORD } }),
      403,
      'email_not_verified',
    );

    const verified = await h.call('/auth/verify', { json: { token } });
    expect(verified.status).toBe(200);
    const body = await json<{ tenant_id: string; user_id: string; status: string }>(verified);
    expect(body.status).toBe('verified');
    expect(await h.stores.tenants.get(body.tenant_id)).toMatchObject({
      status: 'active',
      name: 'Engines Ltd',
      plan: 'free',
      contactEmail: email,
    });
    const { body: session } = await login(h, email.toUpperCase(), PASSWORD);
    expect(session.subject).toEqual({ kind: 'user', user_id: body.user_id, tenant_id: body.tenant_id });
    const account = await json<{ user: { role: string; name: string } }>(
      await h.call('/account', { key: session.access_token }),
    );
    expect(account.user).toMatchObject({ role: 'owner', name: 'Ada' });

    // The token works once.
    await expectError(await h.call('/auth/verify', { json: { token } }), 400, 'invalid_request', 'token');
  });

  it('answers an address that already has an account exactly like a new one, and tells only its owner', async () => {
    const owner = await newOwner(h);
    const before = await tenantCount(h);
    const fresh = await h.call('/auth/signup', { json: { email: newEmail(), password: PASSWORD } });
    const again = await h.call('/auth/signup', {
      json: { email: ` ${owner.email.toUpperCase()} `, password: 'another password entirely' },
    });
    expect(again.status).toBe(fresh.status);
    const [a, b] = [await json<{ message: string }>(fresh), await json<{ message: string }>(again)];
    expect(Object.keys(b)).toEqual(Object.keys(a));
    expect(b.message.replace(owner.email, 'X')).toBe(a.message.replace(/\S+@example\.com/, 'X'));
    expect(await tenantCount(h)).toBe(before + 1);
    expect(h.outbox.latest(owner.email)?.kind).toBe('already_registered');
    // The original password still works; the second signup changed nothing.
    await login(h, owner.email, owner.password);
  });

  it('signing up again before verifying sends a fresh verification email instead of a second tenant', async () => {
    const email = newEmail();
    await h.call('/auth/signup', { json: { email, password: PASSWORD } });
    const first = tokenFrom(h, email, 'verify_email');
    const before = await tenantCount(h);
    expect((await h.call('/auth/signup', { json: { email, password: PASSWORD } })).status).toBe(202);
    const second = tokenFrom(h, email, 'verify_email');
    expect(second).not.toBe(first);
    expect(await tenantCount(h)).toBe(before);
    expect((await h.call('/auth/verify', { json: { token: second } })).status).toBe(200);
  });

  it('an operator address gets the same answer and no tenant', async () => {
    const op = await newOperator(h);
    const before = await tenantCount(h);
    expect((await h.call('/auth/signup', { json: { email: op.email, password: PASSWORD } })).status).toBe(
      202,
    );
    expect(await tenantCount(h)).toBe(before);
    expect(h.outbox.latest(op.email)?.kind).toBe('already_registered');
  });

  it('an expired verification token is 410 email_token_expired; resending gives one that works', async () => {
    const email = newEmail();
    await h.call('/auth/signup', { json: { email, password: PASSWORD } });
    const old = tokenFrom(h, email, 'verify_email');
    time.advance(25 * 3_600_000);
    try {
      const err = await expectError(
        await h.call('/auth/verify', { json: { token: old } }),
        410,
        'email_token_expired',
        'token',
      );
      expect(err.message).toContain('/auth/verify/resend');
      expect((await h.call('/auth/verify/resend', { json: { email } })).status).toBe(202);
      const fresh = tokenFrom(h, email, 'verify_email');
      expect(fresh).not.toBe(old);
      expect((await h.call('/auth/verify', { json: { token: fresh } })).status).toBe(200);
    } finally {
      time.advance(-25 * 3_600_000);
    }
  });

  it('resending to an unknown or verified address answers the same and sends nothing', async () => {
    const owner = await newOwner(h);
    const sent = h.outbox.list().length;
    for (const email of [newEmail('nobody'), owner.email]) {
      const res = await h.call('/auth/verify/resend', { json: { email } });
      expect(res.status).toBe(202);
    }
    expect(h.outbox.list().length).toBe(sent);
  });

  it.each([
    ['unknown', 'tgv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['not a token', 'hello'],
    ['a reset token', 'tgp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
  ])('a %s verification token is 400 naming token', async (_name, token) => {
    await expectError(await h.call('/auth/verify', { json: { token } }), 400, 'invalid_request', 'token');
  });

  it.each([
    [{ password: PASSWORD }, 'email'],
    [{ email: 'not-an-address', password: PASSWORD }, 'email'],
    [{ email: `${'a'.repeat(250)}@example.com`, password: PASSWORD }, 'email'],
    [{ email: 'x@example.com' }, 'password'],
    [{ email: 'x@example.com', password: 'short' }, 'password'],
    [{ email: 'x@example.com', password: 'p'.repeat(257) }, 'password'],
    [{ email: 'x@example.com', password: 12345678901 }, 'password'],
    [{ email: 'x@example.com', password: PASSWORD, name: '' }, 'name'],
    [{ email: 'x@example.com', password: PASSWORD, company: 'c'.repeat(101) }, 'company'],
  ])('bad input %j is 400 naming the field, and creates and sends nothing', async (body, param) => {
    const [tenants, sent] = [await tenantCount(h), h.outbox.list().length];
    const err = await expectError(
      await h.call('/auth/signup', { json: body }),
      400,
      'invalid_request',
      param,
    );
    expect(err.message).toContain(param);
    expect([await tenantCount(h), h.outbox.list().length]).toEqual([tenants, sent]);
  });

  it('the outbox is a local-runner route only: the API app itself has none', async () => {
    await expectError(await h.call('/_local/outbox'), 404, 'not_found');
  });

  it('a body that is not JSON is 415', async () => {
    const res = await h.call('/auth/signup', {
      body: 'email=a@example.com',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    await expectError(res, 415, 'unsupported_media_type');
  });

  it('at most 5 emails an hour go to one address (429 with Retry-After)', async () => {
    const email = newEmail('flood');
    for (let i = 0; i < 5; i++) {
      expect((await h.call('/auth/verify/resend', { json: { email } })).status).toBe(202);
    }
    const res = await h.call('/auth/signup', { json: { email, password: PASSWORD } });
    await expectError(res, 429, 'rate_limited');
    const retry = Number(res.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(3600);
  });
});

describe('password reset', () => {
  let h: Harness;
  const time = clock();
  beforeAll(async () => {
    h = await createHarness({ now: time.now });
  });

  it('sets a new password with the emailed token and ends every session', async () => {
    const owner = await newOwner(h);
    const second = await login(h, owner.email, owner.password);
    expect((await h.call('/auth/password-reset', { json: { email: owner.email } })).status).toBe(202);
    const token = tokenFrom(h, owner.email, 'reset_password');
    const res = await h.call('/auth/password-reset/confirm', {
      json: { token, password: 'a brand new password' },
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ status: 'reset', sessions_ended: 2 });
    for (const t of [owner.token, second.body.access_token]) {
      await expectError(await h.call('/account', { key: t }), 401, 'invalid_token');
    }
    await expectError(
      await h.call('/auth/refresh', { json: { refresh_token: owner.refreshToken } }),
      401,
      'invalid_token',
    );
    await expectError(
      await h.call('/auth/login', { json: { email: owner.email, password: owner.password } }),
      401,
      'invalid_credentials',
    );
    await login(h, owner.email, 'a brand new password');
    await expectError(
      await h.call('/auth/password-reset/confirm', { json: { token, password: 'yet another password' } }),
      400,
      'invalid_request',
      'token',
    );
  });

  it('an expired reset token is 410 and changes nothing', async () => {
    const owner = await newOwner(h);
    await h.call('/auth/password-reset', { json: { email: owner.email } });
    const token = tokenFrom(h, owner.email, 'reset_password');
    time.advance(61 * 60_000);
    try {
      await expectError(
        await h.call('/auth/password-reset/confirm', { json: { token, password: 'a brand new password' } }),
        410,
        'email_token_expired',
        'token',
      );
      await login(h, owner.email, owner.password);
    } finally {
      time.advance(-61 * 60_000);
    }
  });

  it('answers the same for an unknown address and sends nothing', async () => {
    const sent = h.outbox.list().length;
    expect((await h.call('/auth/password-reset', { json: { email: newEmail('ghost') } })).status).toBe(202);
    expect(h.outbox.list().length).toBe(sent);
  });

  it('a weak new password is 400 naming password, and the token still works after', async () => {
    const owner = await newOwner(h);
    await h.call('/auth/password-reset', { json: { email: owner.email } });
    const token = tokenFrom(h, owner.email, 'reset_password');
    await expectError(
      await h.call('/auth/password-reset/confirm', { json: { token, password: 'short' } }),
      400,
      'invalid_request',
      'password',
    );
    await login(h, owner.email, owner.password);
    const ok = await h.call('/auth/password-reset/confirm', { json: { token, password: 'long enough now' } });
    expect(ok.status).toBe(200);
  });
});
