import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashApiKey } from '#shared/auth/api-keys';
import { keys } from '#shared/db/keys';
import { tableNames } from '#shared/db/tables';
import {
  addMember,
  createKey,
  expectError,
  json,
  newOwner,
  refreshed,
  type TestUser,
} from '../../support/accounts';
import { createHarness, type Harness } from '../../support/harness';

function clock() {
  let offsetMs = 0;
  return { now: () => new Date(Date.now() + offsetMs), advance: (ms: number) => (offsetMs += ms) };
}

const sentiment = (h: Harness, key: string) =>
  h.call('/v1/text/sentiment', { key, json: { model: 'sentiment', input: 'lovely' } });

type KeyView = {
  id: string;
  name: string;
  prefix: string;
  status: string;
  scopes: string[];
  limits: Record<string, number> | null;
  last_used_at: string | null;
  expires_at: string | null;
  rotated_to: string | null;
  created_by: string | null;
};

async function listKeys(
  h: Harness,
  user: TestUser,
  query = '',
): Promise<{ data: KeyView[]; next_cursor: string | null }> {
  const res = await h.call(`/account/keys${query}`, { key: user.token });
  expect(res.status, await res.clone().text()).toBe(200);
  return json(res);
}

describe('API keys', () => {
  let h: Harness;
  let owner: TestUser;
  const time = clock();
  beforeAll(async () => {
    h = await createHarness({ now: time.now });
    owner = await newOwner(h);
  });
  // Tests move the clock on by hours: each starts with a session that is valid now.
  beforeEach(async () => {
    owner = await refreshed(h, owner);
  });

  it('create returns the secret once; the store and the list never hold it', async () => {
    const res = await h.call('/account/keys', { key: owner.token, json: { name: 'production' } });
    expect(res.status).toBe(201);
    const key = await json<KeyView & { secret: string }>(res);
    expect(key.secret).toMatch(/^tg_live_[0-9A-Za-z]{43}$/);
    expect(key.prefix).toBe(key.secret.slice(0, 14));
    expect(key).toMatchObject({ name: 'production', status: 'active', scopes: [], created_by: owner.userId });

    const listed = (await listKeys(h, owner)).data.find((k) => k.id === key.id)!;
    expect(listed).toMatchObject({
      name: 'production',
      prefix: key.prefix,
      status: 'active',
      last_used_at: null,
    });
    expect(JSON.stringify(listed)).not.toContain(key.secret.slice(14));

    const table = tableNames(h.config.STAGE).main;
    const record = await h.stores.dynamo.doc.send(
      new GetCommand({ TableName: table, Key: keys.apiKey(owner.tenantId, key.id) }),
    );
    const lookup = await h.stores.dynamo.doc.send(
      new GetCommand({ TableName: table, Key: keys.apiKeyHash(hashApiKey(key.secret)) }),
    );
    expect(record.Item?.hash).toBe(hashApiKey(key.secret));
    for (const item of [record.Item, lookup.Item])
      expect(JSON.stringify(item)).not.toContain(key.secret.slice(8));
  });

  it('a new key calls the API; "last used" is written at most once a minute', async () => {
    const key = await createKey(h, owner, { name: 'used' });
    expect((await sentiment(h, key.secret)).status).toBe(200);
    await h.deps.keyUsage.flush();
    const first = (await listKeys(h, owner)).data.find((k) => k.id === key.id)!.last_used_at;
    expect(first).not.toBeNull();
    time.advance(30_000);
    expect((await sentiment(h, key.secret)).status).toBe(200);
    await h.deps.keyUsage.flush();
    expect((await listKeys(h, owner)).data.find((k) => k.id === key.id)!.last_used_at).toBe(first);
    time.advance(31_000);
    expect((await sentiment(h, key.secret)).status).toBe(200);
    await h.deps.keyUsage.flush();
    const later = (await listKeys(h, owner)).data.find((k) => k.id === key.id)!.last_used_at!;
    expect(Date.parse(later)).toBeGreaterThan(Date.parse(first!));
  });

  it('revoke: the next call is refused; revoking again is a no-op', async () => {
    const key = await createKey(h, owner, { name: 'to revoke' });
    expect((await sentiment(h, key.secret)).status).toBe(200);
    const res = await h.call(`/account/keys/${key.id}/revoke`, { method: 'POST', key: owner.token });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ id: key.id, status: 'revoked' });
    const refused = await expectError(await sentiment(h, key.secret), 401, 'invalid_api_key');
    expect(refused.message).toMatch(/revoked/);
    expect(
      (await h.call(`/account/keys/${key.id}/revoke`, { method: 'POST', key: owner.token })).status,
    ).toBe(200);
    expect((await listKeys(h, owner)).data.find((k) => k.id === key.id)?.status).toBe('revoked');
  });

  it('an expiry is honoured: the key works until then, and is listed as expired after', async () => {
    const expiresAt = new Date(time.now().getTime() + 3_600_000).toISOString();
    const key = await createKey(h, owner, { name: 'short-lived', expires_at: expiresAt });
    expect((await sentiment(h, key.secret)).status).toBe(200);
    time.advance(3_601_000);
    await expectError(await sentiment(h, key.secret), 401, 'invalid_api_key');
    owner = await refreshed(h, owner);
    expect((await listKeys(h, owner)).data.find((k) => k.id === key.id)?.status).toBe('expired');
  });

  it('rotate: a new secret now, the old one valid for the grace period, then dead', async () => {
    const old = await createKey(h, owner, { name: 'rolling', scopes: ['models:invoke'] });
    const res = await h.call(`/account/keys/${old.id}/rotate`, {
      key: owner.token,
      json: { grace_period_seconds: 600 },
    });
    expect(res.status).toBe(201);
    const body = await json<{ key: KeyView & { secret: string }; previous: KeyView }>(res);
    expect(body.key).toMatchObject({
      name: 'rolling',
      scopes: ['models:invoke'],
      status: 'active',
      expires_at: null,
    });
    expect(body.key.secret).not.toBe(old.secret);
    expect(body.previous).toMatchObject({ id: old.id, rotated_to: body.key.id, status: 'active' });
    expect(Date.parse(body.previous.expires_at!) - time.now().getTime()).toBeLessThanOrEqual(600_000);

    expect((await sentiment(h, old.secret)).status).toBe(200);
    expect((await sentiment(h, body.key.secret)).status).toBe(200);
    time.advance(601_000);
    await expectError(await sentiment(h, old.secret), 401, 'invalid_api_key');
    expect((await sentiment(h, body.key.secret)).status).toBe(200);
    owner = await refreshed(h, owner);

    // A key is rotated once; its successor is the one to rotate next.
    await expectError(
      await h.call(`/account/keys/${old.id}/rotate`, { key: owner.token, json: {} }),
      409,
      'conflict',
      'key_id',
    );
  });

  it('rotate with no grace ends the old secret at once; a revoked key cannot be rotated', async () => {
    const old = await createKey(h, owner, { name: 'now' });
    expect((await sentiment(h, old.secret)).status).toBe(200);
    const res = await h.call(`/account/keys/${old.id}/rotate`, {
      key: owner.token,
      json: { grace_period_seconds: 0 },
    });
    expect(res.status).toBe(201);
    await expectError(await sentiment(h, old.secret), 401, 'invalid_api_key');

    const revoked = await createKey(h, owner, { name: 'gone' });
    await h.call(`/account/keys/${revoked.id}/revoke`, { method: 'POST', key: owner.token });
    await expectError(
      await h.call(`/account/keys/${revoked.id}/rotate`, { method: 'POST', key: owner.token }),
      409,
      'conflict',
    );
  });

  it('scopes limit what a key may call', async () => {
    const usageOnly = await createKey(h, owner, { name: 'reader', scopes: ['usage:read'] });
    const invokeOnly = await createKey(h, owner, { name: 'caller', scopes: ['models:invoke'] });
    expect((await h.call('/v1/usage', { key: usageOnly.secret })).status).toBe(200);
    await expectError(await sentiment(h, usageOnly.secret), 403, 'forbidden');
    expect((await sentiment(h, invokeOnly.secret)).status).toBe(200);
    await expectError(await h.call('/v1/usage', { key: invokeOnly.secret }), 403, 'forbidden');
  });

  it('lists a page at a time with an opaque cursor', async () => {
    const other = await newOwner(h);
    for (const name of ['a', 'b', 'c']) await createKey(h, other, { name });
    const first = await listKeys(h, other, '?limit=2');
    expect(first.data.map((k) => k.name)).toEqual(['a', 'b']);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await listKeys(h, other, `?limit=2&cursor=${first.next_cursor}`);
    expect(second.data.map((k) => k.name)).toEqual(['c']);
    await expectError(
      await h.call('/account/keys?cursor=not-a-cursor', { key: other.token }),
      400,
      'invalid_request',
      'cursor',
    );
    // Another tenant's cursor does not open their partition.
    await expectError(
      await h.call(`/account/keys?cursor=${first.next_cursor}`, { key: owner.token }),
      400,
      'invalid_request',
      'cursor',
    );
  });

  it.each([
    [{}, 'name'],
    [{ name: '' }, 'name'],
    [{ name: 'n'.repeat(101) }, 'name'],
    [{ name: 'k', scopes: ['admin'] }, 'scopes[0]'],
    [{ name: 'k', scopes: 'usage:read' }, 'scopes'],
    [{ name: 'k', scopes: ['usage:read', 'usage:read'] }, 'scopes'],
    [{ name: 'k', expires_at: 'tomorrow' }, 'expires_at'],
    [{ name: 'k', expires_at: '2020-01-01T00:00:00Z' }, 'expires_at'],
    [{ name: 'k', limits: { requests_per_minute: -1 } }, 'limits.requests_per_minute'],
    [{ name: 'k', limits: { requests_per_minute: 1.5 } }, 'limits.requests_per_minute'],
    [{ name: 'k', limits: { per_hour: 1 } }, 'limits'],
  ])('bad input %j is 400 naming the field, and creates nothing', async (body, param) => {
    const before = (await listKeys(h, owner)).data.length;
    const err = await expectError(
      await h.call('/account/keys', { key: owner.token, json: body }),
      400,
      'invalid_request',
      param,
    );
    expect(err.message.length).toBeGreaterThan(5);
    expect((await listKeys(h, owner)).data.length).toBe(before);
  });

  it.each([
    [{ grace_period_seconds: -1 }, 'grace_period_seconds'],
    [{ grace_period_seconds: 8 * 86_400 }, 'grace_period_seconds'],
    [{ expires_at: 'soon' }, 'expires_at'],
  ])('bad rotation %j is 400 naming the field, and the key is untouched', async (body, param) => {
    const key = await createKey(h, owner, { name: 'steady' });
    await expectError(
      await h.call(`/account/keys/${key.id}/rotate`, { key: owner.token, json: body }),
      400,
      'invalid_request',
      param,
    );
    expect(await h.stores.apiKeys.get(owner.tenantId, key.id)).toMatchObject({
      rotatedTo: null,
      expiresAt: null,
    });
  });

  it('an unknown or malformed key id is 404', async () => {
    for (const id of ['key_01JZZZZZZZZZZZZZZZZZZZZZZZ', 'nonsense']) {
      await expectError(
        await h.call(`/account/keys/${id}/revoke`, { method: 'POST', key: owner.token }),
        404,
        'not_found',
        'key_id',
      );
    }
  });
});

describe('who may manage keys', () => {
  let h: Harness;
  let owner: TestUser;
  beforeAll(async () => {
    h = await createHarness();
    owner = await newOwner(h);
  });

  it('developers create and revoke keys, but may not set limits; owners may', async () => {
    const dev = await addMember(h, owner, 'developer');
    const key = await createKey(h, dev, { name: 'dev key' });
    await expectError(
      await h.call('/account/keys', {
        key: dev.token,
        json: { name: 'x', limits: { requests_per_minute: 10 } },
      }),
      403,
      'forbidden',
      'limits',
    );
    const limited = await createKey(h, owner, {
      name: 'limited',
      limits: { requests_per_minute: 10, monthly_spend_cap_usd: 25 },
    });
    const listed = (await listKeys(h, owner)).data.find((k) => k.id === limited.id);
    // A budget set without a mode is a hard stop with the default alerts.
    expect(listed?.limits).toEqual({
      requests_per_minute: 10,
      monthly_spend_cap_usd: 25,
      budget_mode: 'hard_stop',
      budget_alerts: [50, 80, 100].map((threshold) => ({ threshold, recipients: ['owner', 'creator'] })),
    });
    expect((await h.call(`/account/keys/${key.id}/revoke`, { method: 'POST', key: dev.token })).status).toBe(
      200,
    );
  });

  it('viewers see keys but cannot change them; billing cannot see them', async () => {
    const viewer = await addMember(h, owner, 'viewer');
    const billing = await addMember(h, owner, 'billing');
    const key = await createKey(h, owner, { name: 'watched' });
    expect((await listKeys(h, viewer)).data.some((k) => k.id === key.id)).toBe(true);
    await expectError(
      await h.call('/account/keys', { key: viewer.token, json: { name: 'x' } }),
      403,
      'forbidden',
    );
    await expectError(
      await h.call(`/account/keys/${key.id}/revoke`, { method: 'POST', key: viewer.token }),
      403,
      'forbidden',
    );
    await expectError(await h.call('/account/keys', { key: billing.token }), 403, 'forbidden');
    expect((await sentiment(h, key.secret)).status).toBe(200);
  });
});

describe('the revocation bound', () => {
  it('another instance refuses a revoked key within AUTH_CACHE_TTL_MS, and this one at once', async () => {
    const time = clock();
    const ttl = 5_000;
    const a = await createHarness({ now: time.now, env: { AUTH_CACHE_TTL_MS: String(ttl) } });
    const b = await createHarness({
      now: time.now,
      env: { AUTH_CACHE_TTL_MS: String(ttl) },
      sameTablesAs: a,
    });
    const owner = await newOwner(b);
    const key = await createKey(b, owner);
    // Both instances have verified (and cached) the key.
    expect((await sentiment(a, key.secret)).status).toBe(200);
    expect((await sentiment(b, key.secret)).status).toBe(200);

    expect(
      (await b.call(`/account/keys/${key.id}/revoke`, { method: 'POST', key: owner.token })).status,
    ).toBe(200);
    await expectError(await sentiment(b, key.secret), 401, 'invalid_api_key');
    // Instance A may still serve it from its cache, but never for longer than the TTL.
    time.advance(ttl);
    await expectError(await sentiment(a, key.secret), 401, 'invalid_api_key');
  });

  it('the lag is real: within the TTL the other instance still has the key cached', async () => {
    const time = clock();
    const a = await createHarness({ now: time.now, env: { AUTH_CACHE_TTL_MS: '5000' } });
    const b = await createHarness({ now: time.now, env: { AUTH_CACHE_TTL_MS: '5000' }, sameTablesAs: a });
    const owner = await newOwner(b);
    const key = await createKey(b, owner);
    expect((await sentiment(a, key.secret)).status).toBe(200);
    await b.call(`/account/keys/${key.id}/revoke`, { method: 'POST', key: owner.token });
    time.advance(4_000);
    expect((await sentiment(a, key.secret)).status).toBe(200);
    time.advance(1_000);
    await expectError(await sentiment(a, key.secret), 401, 'invalid_api_key');
  });
});
