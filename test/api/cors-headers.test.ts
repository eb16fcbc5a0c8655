import { beforeAll, describe, expect, it } from 'vitest';
import { expectError, newOwner, type TestUser } from '../support/accounts';
import { createHarness, type Harness, type TestTenant } from '../support/harness';

const CONSOLE = 'https://console.example.com';
const EVIL = 'https://evil.example';

const preflight = (origin: string, method = 'POST') => ({
  method: 'OPTIONS',
  headers: {
    origin,
    'access-control-request-method': method,
    'access-control-request-headers': 'content-type',
  },
});

describe('CORS: the console origin for sessions, any origin without credentials for /v1', () => {
  let h: Harness;
  let t: TestTenant;
  let owner: TestUser;
  beforeAll(async () => {
    h = await createHarness({ env: { PUBLIC_URL: 'https://api.example.com', CONSOLE_ORIGINS: CONSOLE } });
    t = await h.newTenant();
    owner = await newOwner(h);
  });

  it.each(['/auth/login', '/account/keys', '/admin/tenants'])(
    'a preflight for %s from the console origin is answered, with credentials, for that origin only',
    async (path) => {
      const res = await h.call(path, preflight(CONSOLE));
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(CONSOLE);
      expect(res.headers.get('access-control-allow-credentials')).toBe('true');
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
      expect(res.headers.get('vary')).toContain('Origin');
    },
  );

  it.each(['/auth/login', '/account/keys', '/admin/tenants'])(
    'a preflight for %s from another origin is 403, with no CORS headers',
    async (path) => {
      const res = await h.call(path, preflight(EVIL));
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      await expectError(res, 403, 'forbidden');
    },
  );

  it('session answers name the console origin and never *; other origins get nothing', async () => {
    const mine = await h.call('/account', { key: owner.token, headers: { origin: CONSOLE } });
    expect(mine.status).toBe(200);
    expect(mine.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    expect(mine.headers.get('access-control-allow-credentials')).toBe('true');
    const theirs = await h.call('/account', { key: owner.token, headers: { origin: EVIL } });
    expect(theirs.headers.get('access-control-allow-origin')).toBeNull();
    expect(theirs.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('/v1 answers any origin with *, never with credentials, and exposes the request id and rate-limit headers', async () => {
    const pre = await h.call('/v1/chat/completions', preflight(EVIL));
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
    expect(pre.headers.get('access-control-allow-headers')).toContain('Authorization');
    const res = await h.call('/v1/models', { key: t.key, headers: { origin: EVIL } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('access-control-expose-headers')).toContain('x-request-id');
    expect(res.headers.get('access-control-expose-headers')).toContain('x-ratelimit-remaining-requests');
  });

  it('the Stripe webhook has no CORS at all', async () => {
    const res = await h.call('/webhooks/stripe', preflight(EVIL));
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.status).toBeLessThan(500);
  });

  it('no answer anywhere pairs * with credentials', async () => {
    for (const path of ['/v1/models', '/account', '/auth/login', '/openapi.json', '/.well-known/jwks.json']) {
      for (const origin of [CONSOLE, EVIL]) {
        for (const res of [
          await h.call(path, preflight(origin)),
          await h.call(path, { headers: { origin } }),
        ]) {
          const star = res.headers.get('access-control-allow-origin') === '*';
          const creds = res.headers.get('access-control-allow-credentials') === 'true';
          expect(star && creds, `${path} from ${origin}`).toBe(false);
        }
      }
    }
  });
});

describe('security headers on API answers', () => {
  it('nosniff, no framing, no referrer, a CSP that allows nothing, no-store, and HSTS off localhost', async () => {
    const h = await createHarness({ env: { PUBLIC_URL: 'https://api.example.com' } });
    const t = await h.newTenant();
    for (const res of [
      await h.call('/v1/models', { key: t.key }),
      await h.call('/v1/models'), // an error answer too
      await h.call('/auth/login', { json: {} }),
      await h.call('/nowhere'),
    ]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    }
    // The JWKS keeps its own caching; the reference page allows its own inline code by hash only.
    expect((await h.call('/.well-known/jwks.json')).headers.get('cache-control')).toBe('public, max-age=300');
    const docs = (await h.call('/docs')).headers.get('content-security-policy') ?? '';
    expect(docs).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(docs).not.toContain('unsafe-inline');
  });

  it('no HSTS on localhost (plain HTTP while developing must keep working)', async () => {
    const h = await createHarness();
    expect((await h.call('/v1/models')).headers.get('strict-transport-security')).toBeNull();
  });
});
