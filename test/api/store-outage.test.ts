import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDynamo, type Dynamo } from '../../shared/db/client';
import { json, newOperator, newOwner, type TestOperator, type TestUser } from '../support/accounts';
import { createHarness, type Harness, type TestTenant } from '../support/harness';
import { type OutageMode, StoreOutage } from '../support/store-outage';

interface ErrorBody {
  error: { message: string; type: string; code: string; param: string | null; request_id?: string };
}

/**
 * The store gone, wherever a request needs it: every such request is a 503 `store_unavailable`
 * that tells the client to retry (never a 500), bad input is still the caller's 4xx, and the same
 * app answers again once the store is back, without a restart.
 */
describe('a store that is down: 503 store_unavailable on every route that needs it, never 500', () => {
  let outage: StoreOutage;
  let dynamo: Dynamo;
  let h: Harness;
  let t: TestTenant;
  let owner: TestUser;
  let op: TestOperator;
  beforeAll(async () => {
    outage = await StoreOutage.start(inject('dynamoEndpoint'));
    // A short per-attempt timeout, so that a store that never answers is given up on in seconds.
    dynamo = createDynamo({ region: 'us-east-1', endpoint: outage.endpoint, requestTimeoutMs: 1_000 });
    h = await createHarness({ dynamo });
    [t, owner, op] = await Promise.all([h.newTenant(), newOwner(h), newOperator(h)]);
  });
  afterAll(async () => {
    await outage?.close();
    dynamo?.client.destroy();
  });

  /** A spread of routes that read or write the store, by each kind of caller. */
  const routes: [string, () => Promise<Response>][] = [
    [
      'POST /v1/text/sentiment (API key)',
      () => h.call('/v1/text/sentiment', { key: t.key, json: { model: 'sentiment', input: 'a fine day' } }),
    ],
    ['GET /v1/usage (API key)', () => h.call('/v1/usage', { key: t.key })],
    ['GET /account (session)', () => h.call('/account', { key: owner.token })],
    ['GET /account/keys (session)', () => h.call('/account/keys', { key: owner.token })],
    [
      'POST /account/keys (session)',
      () => h.call('/account/keys', { key: owner.token, json: { name: 'ci' } }),
    ],
    [
      'POST /auth/login',
      () => h.call('/auth/login', { json: { email: owner.email, password: owner.password } }),
    ],
    ['GET /admin/tenants (operator)', () => h.call('/admin/tenants', { key: op.token })],
    ['GET /admin/audit (operator)', () => h.call('/admin/audit', { key: op.token })],
  ];

  async function expectStoreUnavailable(name: string, res: Response) {
    const text = await res.clone().text();
    expect(res.status, `${name}: ${text}`).toBe(503);
    expect(res.headers.get('x-should-retry'), name).toBe('true');
    expect(res.headers.get('retry-after'), name).toBe('1');
    const body = (await res.json()) as ErrorBody;
    expect(body.error, name).toMatchObject({
      code: 'store_unavailable',
      type: 'api_error',
      param: null,
      request_id: res.headers.get('x-request-id'),
    });
    expect(body.error.message, name).toMatch(/Try again\.$/);
  }

  it.each<OutageMode>(['refused', 'reset', 'silent', 'internal_error'])(
    'store %s: every route is 503, retryable, in the error envelope',
    async (mode) => {
      await outage.set(mode);
      try {
        const answers = await Promise.all(routes.map(async ([name, call]) => [name, await call()] as const));
        for (const [name, res] of answers) await expectStoreUnavailable(name, res);
      } finally {
        await outage.set('up');
      }
      expect(h.logs.join('')).not.toContain('"code":"internal_error"');
    },
  );

  it('bad input is still the caller’s 4xx while the store is down', async () => {
    await outage.set('refused');
    try {
      const noKey = await h.call('/v1/text/sentiment', { json: { model: 'sentiment', input: 'hi' } });
      expect(noKey.status).toBe(401);
      const malformedKey = await h.call('/v1/text/sentiment', {
        key: 'tg_live_not-a-key',
        json: { model: 'sentiment', input: 'hi' },
      });
      expect(malformedKey.status).toBe(401);
      const noPassword = await h.call('/auth/login', { json: { email: owner.email } });
      expect(noPassword.status).toBe(400);
      expect(((await noPassword.json()) as ErrorBody).error.param).toBe('password');
      expect((await h.call('/v2/nothing')).status).toBe(404);
    } finally {
      await outage.set('up');
    }
  });

  it('once the store is back, the same app answers every route again', async () => {
    await outage.set('refused');
    expect((await routes[0]![1]()).status).toBe(503);
    await outage.set('up');
    for (const [name, call] of routes) {
      const res = await call();
      expect(res.status, `${name}: ${await res.clone().text()}`).toBeLessThan(300);
    }
    const sentiment = await json<{ data: unknown[] }>(await routes[0]![1]());
    expect(sentiment.data).toHaveLength(1);
  });
});
