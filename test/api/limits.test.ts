import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiDeps } from '#api/wiring/deps';
import { createApiApp } from '../../functions/api/app';
import { freePort } from '../../local/dynamodb';
import { issueApiKey } from '../../shared/auth/issue-api-key';
import { createDynamo } from '../../shared/db/client';
import { keys } from '../../shared/db/keys';
import { tableNames } from '../../shared/db/tables';
import { createLogger } from '../../shared/logger';
import { SageMakerModelClient } from '../../shared/models/sagemaker-client';
import { QuotaStore } from '../../shared/quotas/quota-store';
import { windowsAt } from '../../shared/quotas/windows';
import { createHarness, type Harness } from '../support/harness';

const sentiment = (h: Harness, key: string, input = 'a fine day') =>
  h.call('/v1/text/sentiment', { key, json: { model: 'sentiment', input } });

describe('limits at the gateway', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });

  const counter = async (k: { pk: string; sk: string }) =>
    (
      await h.stores.dynamo.doc.send(
        new GetCommand({ TableName: tableNames(h.config.STAGE).main, Key: k, ConsistentRead: true }),
      )
    ).Item;

  it('every /v1 answer carries the x-ratelimit headers', async () => {
    const t = await h.newTenant();
    const res = await sentiment(h, t.key);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit-requests')).toBe('60');
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('59');
    expect(res.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+s$/);
    expect(res.headers.get('x-ratelimit-limit-tokens')).toBe('40000');
    expect(Number(res.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(40_000);
    const usage = await h.call('/v1/usage', { key: t.key });
    expect(usage.headers.get('x-ratelimit-remaining-requests')).toBe('59');
  });

  it('200 concurrent requests against a limit of 50 serve exactly 50; the rest are 429 and unbilled', async () => {
    const t = await h.newTenant({
      limitOverrides: { requestsPerMinute: 50, maxConcurrent: 1_000, tokensPerMinute: 1_000_000 },
    });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => sentiment(h, t.key, `text ${i}`)),
    );
    const served = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(served).toHaveLength(50);
    expect(refused).toHaveLength(150);
    const r = refused[0]!;
    expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(r.headers.get('x-should-retry')).toBe('true');
    expect(r.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(((await r.json()) as { error: { code: string; type: string } }).error).toMatchObject({
      code: 'rate_limit_requests',
      type: 'rate_limit_error',
    });
    expect(await h.stores.usage.listEvents(t.tenantId)).toHaveLength(50);
  });

  it('a per-key limit refuses that key only and names it', async () => {
    const t = await h.newTenant({ limitOverrides: { requestsPerMinute: 1_000 } });
    const narrow = await issueApiKey(h.stores.apiKeys, {
      tenantId: t.tenantId,
      name: 'narrow',
      limits: { requestsPerMinute: 2 },
    });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await sentiment(h, narrow.secret));
    expect(results.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(((await results[2]!.json()) as { error: { message: string } }).error.message).toContain(
      'this API key',
    );
    expect((await sentiment(h, t.key)).status).toBe(200);
  });

  it('included units are a hard stop (x-should-retry: false), and the refusal changes no counter', async () => {
    const t = await h.newTenant({ limitOverrides: { included: { input_tokens: 30 } } });
    expect((await sentiment(h, t.key, 'ok then')).status).toBe(200);
    const month = windowsAt(new Date()).month;
    const before = await counter(keys.quotaMonth(t.tenantId, month));
    const res = await sentiment(h, t.key, 'this text is long enough to need more than what is left');
    expect(res.status).toBe(429);
    expect(res.headers.get('x-should-retry')).toBe('false');
    expect(((await res.json()) as { error: { code: string; type: string } }).error).toMatchObject({
      code: 'quota_exceeded',
      type: 'insufficient_quota',
    });
    expect(await counter(keys.quotaMonth(t.tenantId, month))).toEqual(before);
  });

  it("a first request larger than the month's whole allowance is refused, though no counter exists yet", async () => {
    const t = await h.newTenant({ limitOverrides: { included: { input_tokens: 3 } } });
    const month = windowsAt(new Date()).month;
    const res = await sentiment(h, t.key, 'a fine day, truly a fine day');
    expect(res.status, await res.clone().text()).toBe(429);
    expect(res.headers.get('x-should-retry')).toBe('false');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('quota_exceeded');
    expect(await counter(keys.quotaMonth(t.tenantId, month))).toBeUndefined();
    // What fits is still served.
    expect((await sentiment(h, t.key, 'ok')).status).toBe(200);
  });

  it('a spend cap reached by concurrent chat requests is never exceeded', async () => {
    // $0.0002 cap; each chat reserves prompt + 64 output tokens at chat prices.
    const t = await h.newTenant({ plan: 'payg', spendCapNanoUsd: 200_000 });
    const chat = (i: number) =>
      h.call('/v1/chat/completions', {
        key: t.key,
        json: {
          model: 'chat',
          max_tokens: 64,
          messages: [{ role: 'user', content: `Say something, number ${i}.` }],
        },
      });
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => chat(i)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    const spent = (await h.stores.usage.listEvents(t.tenantId)).reduce((s, e) => s + e.costNanoUsd, 0);
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(200_000);
    const refused = results.find((r) => r.status === 429)!;
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('spend_cap_reached');
    expect(refused.headers.get('x-should-retry')).toBe('false');
  });

  it('a quota store that does not answer: 503 store_unavailable, safe to retry, nothing run or billed', async () => {
    const dead = createDynamo({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${await freePort()}`,
      maxAttempts: 1,
    });
    const names = tableNames(h.config.STAGE);
    const deps = createApiDeps(h.config, createLogger('silent'), {
      stores: { ...h.stores, quotas: new QuotaStore(dead.doc, names.main, names.usage) },
      email: h.outbox,
      signingKeys: h.signingKeys,
    });
    const app = createApiApp(deps);
    const t = await h.newTenant();
    const res = await app.request('/v1/text/sentiment', {
      method: 'POST',
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sentiment', input: 'never runs' }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('x-should-retry')).toBe('true');
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
    expect(await h.stores.usage.listEvents(t.tenantId)).toEqual([]);
    dead.client.destroy();
  });

  it('a failed model call holds nothing: unbilled, and its lease gives everything back', async () => {
    const down = await createHarness({
      env: { MODEL_TIMEOUT_MS: '300' },
      models: new SageMakerModelClient({
        region: 'us-east-1',
        endpoint: `http://127.0.0.1:${await freePort()}`,
      }),
    });
    const t = await down.newTenant();
    expect((await sentiment(down, t.key, 'this will not be answered')).status).toBe(502);
    // The failed request's room went back to this instance's lease at once; the lease (idle now)
    // gives its unused capacity back to the counters.
    expect(await down.stores.quotas.month(t.tenantId, new Date())).toMatchObject({ costNanoUsd: 0 });
    await down.deps.admission.close();
    expect(await down.stores.quotas.openReservations(t.tenantId)).toEqual([]);
    const month = windowsAt(new Date()).month;
    const item = (
      await down.stores.dynamo.doc.send(
        new GetCommand({
          TableName: tableNames(down.config.STAGE).main,
          Key: keys.quotaMonth(t.tenantId, month),
          ConsistentRead: true,
        }),
      )
    ).Item;
    expect(item).toMatchObject({ input_tokens: 0, costNanoUsd: 0 });
    const inflight = (
      await down.stores.dynamo.doc.send(
        new GetCommand({
          TableName: tableNames(down.config.STAGE).main,
          Key: keys.quotaInFlight(t.tenantId),
          ConsistentRead: true,
        }),
      )
    ).Item;
    expect(inflight).toMatchObject({ inflight: 0 });
  });
});
