import { beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '#shared/auth/api-keys';
import { createHarness, type Harness, type TestTenant } from '../support/harness';

/** Every authenticated route, with a body that would succeed for a good key. */
const routes = [
  {
    name: 'POST /v1/text/sentiment',
    path: '/v1/text/sentiment',
    json: { model: 'sentiment', input: 'great' },
  },
  { name: 'GET /v1/usage', path: '/v1/usage' },
  { name: 'GET /v1/models', path: '/v1/models' },
  { name: 'GET /v1/models/{id}', path: '/v1/models/ocr@ppocr-v4' },
  {
    name: 'POST /v1/images/moderations',
    path: '/v1/images/moderations',
    // A 1x1 PNG.
    json: {
      model: 'image-moderation@mobilenet-v2',
      image:
        'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==',
    },
  },
] as const;

describe.each(routes)('the auth matrix: $name', (route) => {
  let h: Harness;
  let good: TestTenant;
  beforeAll(async () => {
    h = await createHarness();
    good = await h.newTenant();
  });

  const call = (headers: Record<string, string>) =>
    h.call(route.path, { json: 'json' in route ? route.json : undefined, headers });

  async function expectCode(res: Response, status: number, code: string) {
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { code: string; type: string } };
    expect(body.error.code).toBe(code);
  }

  it('answers 200 with a good key (the control)', async () => {
    expect((await call({ authorization: `Bearer ${good.key}` })).status).toBe(200);
  });

  it('no credentials: 401 missing_api_key', async () => {
    await expectCode(await call({}), 401, 'missing_api_key');
  });

  it.each([
    ['not bearer', (k: string) => `Basic ${k}`],
    ['bearer without key', () => 'Bearer '],
    ['malformed key', () => 'Bearer tg_live_short'],
    ['a JWT instead of a key', () => 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'],
    ['well-formed but unknown key', () => `Bearer ${generateApiKey().secret}`],
    [
      'the key with one character changed',
      (k: string) => `Bearer ${k.slice(0, -1)}${k.endsWith('A') ? 'B' : 'A'}`,
    ],
  ])('%s: 401 invalid_api_key', async (_name, header) => {
    await expectCode(await call({ authorization: header(good.key) }), 401, 'invalid_api_key');
  });

  it('a revoked key: 401', async () => {
    const t = await h.newTenant();
    expect((await call({ authorization: `Bearer ${t.key}` })).status).toBe(200);
    expect(await h.stores.apiKeys.revoke(t.tenantId, t.keyId)).toBe(true);
    await expectCode(await call({ authorization: `Bearer ${t.key}` }), 401, 'invalid_api_key');
  });

  it('an expired key: 401', async () => {
    const t = await h.newTenant({ keyExpiresAt: new Date(Date.now() - 1000).toISOString() });
    await expectCode(await call({ authorization: `Bearer ${t.key}` }), 401, 'invalid_api_key');
  });

  it.each(['suspended', 'pending_verification'] as const)(
    'a %s tenant: 403 tenant_inactive',
    async (status) => {
      const t = await h.newTenant({ status });
      await expectCode(await call({ authorization: `Bearer ${t.key}` }), 403, 'tenant_inactive');
    },
  );

  it('another tenant cannot revoke a key that is not theirs', async () => {
    const other = await h.newTenant();
    expect(await h.stores.apiKeys.revoke(other.tenantId, good.keyId)).toBe(false);
    expect((await call({ authorization: `Bearer ${good.key}` })).status).toBe(200);
  });
});

describe('secrets in logs', () => {
  it('no API key secret ever reaches the logs, whatever the outcome', async () => {
    const h = await createHarness();
    const t = await h.newTenant();
    const unknown = generateApiKey().secret;
    await h.call('/v1/text/sentiment', {
      key: t.key,
      json: { model: 'sentiment', input: 'the secret prompt text' },
    });
    await h.call('/v1/text/sentiment', { key: unknown, json: { model: 'sentiment', input: 'x' } });
    await h.call('/v1/usage', { key: t.key });
    const all = h.logs.join('');
    expect(h.logs.length).toBeGreaterThanOrEqual(3);
    expect(all).toContain(t.tenantId);
    expect(all).not.toContain(t.key);
    expect(all).not.toContain(unknown);
    expect(all).not.toContain(t.key.slice(8, 30));
    expect(all).not.toContain('the secret prompt text');
  });
});
