import { base64url, decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { startSession } from '../../shared/accounts/login';
import { issueApiKey } from '../../shared/auth/issue-api-key';
import { SESSION_AUDIENCE, type SessionSubject, sessionIssuer } from '../../shared/auth/sessions/jwt';
import { expectError, newOperator, newOwner } from './accounts';
import type { Harness } from './harness';

/** Someone a matrix request is made as. */
export interface Caller {
  subject: SessionSubject;
  /** The caller's tenant (users only). */
  tenantId: string;
}

export interface MatrixRequest {
  method: string;
  path: string;
  json?: unknown;
  /** A body other than JSON (a multipart upload). */
  body?: FormData;
}

export interface MatrixFixture {
  h: Harness;
  owner: Caller;
  /** The owner of another tenant. */
  other: Caller;
  /** The owner of a suspended tenant. */
  suspended: Caller;
  operator: Caller;
}

/** One session-authenticated route, as the matrix needs to know it. */
export interface MatrixRoute {
  /** `METHOD /path/{param}`, exactly as in /openapi.json. */
  name: string;
  /** Tenant users, operators, or any session (logout). */
  for: 'user' | 'operator' | 'any';
  /** A request that succeeds for `caller`, making whatever it needs in the caller's tenant. */
  request(f: MatrixFixture, caller: Caller): Promise<MatrixRequest>;
  /** The status of that success. */
  ok: number;
  /**
   * For routes with ids: a request by `caller` naming a resource of `owner`'s tenant, and a check
   * that the resource is unchanged afterwards.
   */
  foreign?(
    f: MatrixFixture,
    caller: Caller,
    owner: Caller,
  ): Promise<{ req: MatrixRequest; unchanged(): Promise<void> }>;
  /** How a suspended tenant's user is answered; default: like anyone else. */
  whenSuspended?: 'allowed' | 'tenant_inactive';
}

/** A fresh session (no password hashing: the matrix mints many). */
export async function tokenFor(h: Harness, caller: Caller): Promise<string> {
  return (await startSession(h.deps.accounts, caller.subject)).accessToken;
}

async function send(h: Harness, req: MatrixRequest, headers: Record<string, string>): Promise<Response> {
  return h.call(req.path, { method: req.method, json: req.json, body: req.body, headers });
}

/** The claims of a real token, re-signed with something wrong about it. */
async function forge(
  h: Harness,
  good: string,
  how: 'expired' | 'other_key' | 'wrong_aud' | 'wrong_iss',
): Promise<string> {
  const claims = decodeJwt(good);
  const { kid } = decodeProtectedHeader(good);
  const now = Math.floor(h.deps.now().getTime() / 1000);
  let key = (await h.signingKeys.signingKey()).key;
  if (how === 'other_key') key = (await generateKeyPair('ES256')).privateKey;
  const jwt = new SignJWT({ ...claims, iat: undefined, exp: undefined, iss: undefined, aud: undefined })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
    .setIssuer(how === 'wrong_iss' ? 'tollgate:elsewhere' : sessionIssuer(h.config.STAGE))
    .setAudience(how === 'wrong_aud' ? 'tollgate:other-service' : SESSION_AUDIENCE)
    .setIssuedAt(how === 'expired' ? now - 7200 : now)
    .setExpirationTime(how === 'expired' ? now - 3600 : now + 600);
  return jwt.sign(key);
}

/** `alg: none`, built by hand (jose refuses to make one). */
function unsigned(good: string): string {
  const header = base64url.encode(
    JSON.stringify({ alg: 'none', typ: 'JWT', kid: decodeProtectedHeader(good).kid }),
  );
  const payload = good.split('.')[1];
  return `${header}.${payload}.`;
}

/** HS256 with the public key's JSON as the HMAC secret: the classic algorithm-confusion forgery. */
async function hmacWithPublicKey(h: Harness, good: string): Promise<string> {
  const { keys } = await h.signingKeys.publicJwks();
  const secret = new TextEncoder().encode(JSON.stringify(keys[0]));
  const claims = decodeJwt(good);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', kid: decodeProtectedHeader(good).kid, typ: 'JWT' })
    .sign(secret);
}

/**
 * The security matrix, run against every route in `routes`: no credentials, malformed tokens,
 * expired, wrong key, `alg: none`, algorithm confusion, wrong audience or issuer, an API key
 * (revoked) instead of a session, an ended session, a suspended tenant, another tenant's ids
 * (404, and nothing changed), the wrong kind of caller (403), and cookie writes from another site.
 */
export function runSecurityMatrix(routes: MatrixRoute[], setup: () => Promise<Harness>): void {
  let f: MatrixFixture;

  beforeAll(async () => {
    const h = await setup();
    const [owner, other, suspended, operator] = await Promise.all([
      newOwner(h, { company: 'Matrix A' }),
      newOwner(h, { company: 'Matrix B' }),
      newOwner(h, { company: 'Matrix S' }),
      newOperator(h),
    ]);
    expect(await h.stores.tenants.setStatus(suspended.tenantId, 'suspended')).toBe(true);
    const user = (u: typeof owner): Caller => ({
      subject: { kind: 'user', userId: u.userId, tenantId: u.tenantId },
      tenantId: u.tenantId,
    });
    f = {
      h,
      owner: user(owner),
      other: user(other),
      suspended: user(suspended),
      operator: { subject: { kind: 'operator', operatorId: operator.operatorId }, tenantId: '' },
    };
  });

  describe.each(routes)('security matrix: $name', (route) => {
    const caller = () => (route.for === 'operator' ? f.operator : f.owner);
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

    it('a good session (the control)', async () => {
      const req = await route.request(f, caller());
      const res = await send(f.h, req, bearer(await tokenFor(f.h, caller())));
      expect(res.status, await res.text()).toBe(route.ok);
    });

    it('no credentials: 401 missing_credentials', async () => {
      const req = await route.request(f, caller());
      await expectError(await send(f.h, req, {}), 401, 'missing_credentials');
    });

    it.each([
      ['not bearer', 'Basic dXNlcjpwYXNz'],
      ['bearer without a token', 'Bearer '],
      ['not a JWT', 'Bearer not-a-token'],
      ['three garbage segments', 'Bearer aaa.bbb.ccc'],
      ['an over-long token', `Bearer ${'a'.repeat(5000)}.b.c`],
    ])('malformed (%s): 401 invalid_token', async (_name, header) => {
      const req = await route.request(f, caller());
      await expectError(await send(f.h, req, { authorization: header }), 401, 'invalid_token');
    });

    it('an expired token: 401 token_expired', async () => {
      const req = await route.request(f, caller());
      const token = await forge(f.h, await tokenFor(f.h, caller()), 'expired');
      await expectError(await send(f.h, req, bearer(token)), 401, 'token_expired');
    });

    it.each(['other_key', 'wrong_aud', 'wrong_iss'] as const)(
      'a token with %s: 401 invalid_token',
      async (how) => {
        const req = await route.request(f, caller());
        const token = await forge(f.h, await tokenFor(f.h, caller()), how);
        await expectError(await send(f.h, req, bearer(token)), 401, 'invalid_token');
      },
    );

    it('alg none: 401 invalid_token', async () => {
      const req = await route.request(f, caller());
      const token = unsigned(await tokenFor(f.h, caller()));
      await expectError(await send(f.h, req, bearer(token)), 401, 'invalid_token');
    });

    it('HS256 signed with the public key: 401 invalid_token', async () => {
      const req = await route.request(f, caller());
      const token = await hmacWithPublicKey(f.h, await tokenFor(f.h, caller()));
      await expectError(await send(f.h, req, bearer(token)), 401, 'invalid_token');
    });

    it('a revoked API key instead of a session: 401 invalid_token', async () => {
      const { key, secret } = await issueApiKey(f.h.stores.apiKeys, {
        tenantId: f.owner.tenantId,
        name: 'm',
      });
      await f.h.stores.apiKeys.revoke(f.owner.tenantId, key.id);
      const req = await route.request(f, caller());
      await expectError(await send(f.h, req, bearer(secret)), 401, 'invalid_token');
    });

    it('an ended (logged out) session: 401 invalid_token', async () => {
      const issued = await startSession(f.h.deps.accounts, caller().subject);
      await f.h.stores.sessions.revoke(issued.session.id);
      const req = await route.request(f, caller());
      await expectError(await send(f.h, req, bearer(issued.accessToken)), 401, 'invalid_token');
    });

    if (route.for !== 'operator') {
      it(`a suspended tenant: ${route.whenSuspended === 'tenant_inactive' ? '403 tenant_inactive' : 'allowed'}`, async () => {
        const req = await route.request(f, f.suspended);
        const res = await send(f.h, req, bearer(await tokenFor(f.h, f.suspended)));
        if (route.whenSuspended === 'tenant_inactive') await expectError(res, 403, 'tenant_inactive');
        else expect(res.status, await res.text()).toBe(route.ok);
      });
    }
    if (route.for === 'user') {
      it('an operator: 403 forbidden (operators have no tenant)', async () => {
        const req = await route.request(f, f.owner);
        await expectError(await send(f.h, req, bearer(await tokenFor(f.h, f.operator))), 403, 'forbidden');
      });
    }
    if (route.for === 'operator') {
      it('a tenant owner: 403 forbidden', async () => {
        const req = await route.request(f, f.operator);
        await expectError(await send(f.h, req, bearer(await tokenFor(f.h, f.owner))), 403, 'forbidden');
      });
    }

    if (route.foreign) {
      it("another tenant's id: 404 not_found, and nothing changes", async () => {
        const { req, unchanged } = await route.foreign!(f, f.other, f.owner);
        await expectError(await send(f.h, req, bearer(await tokenFor(f.h, f.other))), 404, 'not_found');
        await unchanged();
      });
    }

    if (!route.name.startsWith('GET ')) {
      it('the session cookie from another site: 403 forbidden', async () => {
        const req = await route.request(f, caller());
        const cookie = `tg_session=${await tokenFor(f.h, caller())}`;
        await expectError(await send(f.h, req, { cookie, origin: 'https://evil.example' }), 403, 'forbidden');
        await expectError(await send(f.h, req, { cookie }), 403, 'forbidden');
      });

      it('the session cookie from this site: allowed', async () => {
        const req = await route.request(f, caller());
        const cookie = `tg_session=${await tokenFor(f.h, caller())}`;
        const res = await send(f.h, req, { cookie, origin: 'http://localhost' });
        expect(res.status, await res.text()).toBe(route.ok);
      });
    } else {
      it('the session cookie: allowed for reads', async () => {
        const req = await route.request(f, caller());
        const res = await send(f.h, req, { cookie: `tg_session=${await tokenFor(f.h, caller())}` });
        expect(res.status, await res.text()).toBe(route.ok);
      });
    }
  });
}
