import { beforeAll, describe, expect, it } from 'vitest';
import { tableNames } from '#shared/db/tables';
import { newId } from '#shared/ids';
import { AlertStore, UsageAlerts } from '#shared/quotas/alerts';
import {
  addMember,
  createKey,
  expectError,
  json,
  newOperator,
  newOwner,
  type TestOperator,
  type TestUser,
} from '../../support/accounts';
import { createHarness, type Harness } from '../../support/harness';

type Limits = {
  object: string;
  tenant_id: string;
  plan: { id: string; spend_cap_usd: string | null };
  owner_spend_cap_usd: string | null;
  effective: { overage: string; spend_cap_usd: string | null; requests_per_minute: number | null };
  month: { month: string; used: { input_tokens: number; cost_usd: string } };
  alerts: Alert[];
};
type Alert = {
  metric: string;
  threshold: number;
  unit: string;
  used: string;
  limit: string;
  notified: string | null;
};

describe('an account’s own limits', () => {
  let h: Harness;
  let op: TestOperator;
  beforeAll(async () => {
    // A warm key cache, as in production: an owner's change must still bite at once on this instance.
    h = await createHarness({ env: { AUTH_CACHE_TTL_MS: '5000' } });
    op = await newOperator(h);
  });

  const toPlan = async (tenantId: string, plan: string) => {
    const res = await h.call(`/admin/tenants/${tenantId}`, {
      key: op.token,
      method: 'PATCH',
      json: { plan },
    });
    expect(res.status, await res.clone().text()).toBe(200);
  };
  const sentiment = (key: string, input = 'good day') =>
    h.call('/v1/text/sentiment', { key, json: { model: 'sentiment', input } });
  const limits = async (user: TestUser) => {
    const res = await h.call('/account/limits', { key: user.token });
    expect(res.status, await res.clone().text()).toBe(200);
    return json<Limits>(res);
  };
  const setCap = (user: TestUser, cap: unknown) =>
    h.call('/account/limits', { key: user.token, method: 'PATCH', json: { spend_cap_usd: cap } });
  const alertMails = (to: string) => h.outbox.list(to).filter((m) => m.kind === 'usage_alert');

  it('owners and billing see plan, effective limits and this month’s use; developers and viewers may not', async () => {
    const owner = await newOwner(h);
    const key = await createKey(h, owner);
    expect((await sentiment(key.secret)).status).toBe(200);
    const l = await limits(owner);
    expect(l).toMatchObject({
      object: 'limits',
      tenant_id: owner.tenantId,
      plan: { id: 'free', spend_cap_usd: null },
      owner_spend_cap_usd: null,
      effective: { overage: 'hard_stop', requests_per_minute: 60, spend_cap_usd: null },
      month: {
        month: new Date().toISOString().slice(0, 7),
        used: { input_tokens: 2, cost_usd: '0.000000200' },
      },
      alerts: [],
    });
    const billing = await addMember(h, owner, 'billing');
    expect((await limits(billing)).tenant_id).toBe(owner.tenantId);
    for (const role of ['developer', 'viewer'] as const) {
      const member = await addMember(h, owner, role);
      await expectError(await h.call('/account/limits', { key: member.token }), 403, 'forbidden');
      await expectError(await setCap(member, 5), 403, 'forbidden');
    }
  });

  it('owners and billing set the spend cap; it bites at once; bad values name the field and change nothing', async () => {
    const owner = await newOwner(h);
    await toPlan(owner.tenantId, 'payg');
    const key = await createKey(h, owner);
    expect((await sentiment(key.secret)).status).toBe(200);

    for (const bad of [0, -1, '1.0000000001', 'ten', true]) {
      await expectError(await setCap(owner, bad), 400, 'invalid_request', 'spend_cap_usd');
    }
    await expectError(
      await h.call('/account/limits', {
        key: owner.token,
        method: 'PATCH',
        json: { requests_per_minute: 5 },
      }),
      400,
      'invalid_request',
    );
    expect((await h.stores.tenants.get(owner.tenantId))?.spendCapNanoUsd).toBeUndefined();

    // $0.0000003: the month has spent $0.0000002, and the next request may use up to 8 tokens.
    const res = await setCap(owner, '0.0000003');
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await json<Limits>(res)).toMatchObject({
      owner_spend_cap_usd: '0.000000300',
      effective: { spend_cap_usd: '0.000000300' },
    });
    const refused = await sentiment(key.secret);
    const err = await expectError(refused, 429, 'spend_cap_reached');
    expect(err.message).toContain("This month's spend cap of $0.000000300");
    expect(refused.headers.get('x-should-retry')).toBe('false');

    // An owner's cap above the plan's does not raise it.
    const billing = await addMember(h, owner, 'billing');
    const high = await json<Limits>(await setCap(billing, 1_000_000));
    expect(high).toMatchObject({
      owner_spend_cap_usd: '1000000.000000000',
      effective: { spend_cap_usd: '100.000000000' },
    });
    expect((await sentiment(key.secret)).status).toBe(200);
    const removed = await json<Limits>(await setCap(owner, null));
    expect(removed.owner_spend_cap_usd).toBeNull();
    expect((await h.stores.tenants.get(owner.tenantId))?.spendCapNanoUsd).toBeUndefined();
  });

  it('an owner narrows one key: its rate and its own monthly spend cap, for that key only', async () => {
    const owner = await newOwner(h);
    await toPlan(owner.tenantId, 'payg');
    const [narrow, wide] = [await createKey(h, owner), await createKey(h, owner)];
    const patch = (user: TestUser, keyId: string, body: unknown) =>
      h.call(`/account/keys/${keyId}`, { key: user.token, method: 'PATCH', json: body });

    const developer = await addMember(h, owner, 'developer');
    await expectError(
      await patch(developer, narrow.id, { limits: { requests_per_minute: 1 } }),
      403,
      'forbidden',
    );
    await expectError(
      await patch(owner, narrow.id, { limits: { monthly_spend_cap_usd: 0 } }),
      400,
      'invalid_request',
      'limits.monthly_spend_cap_usd',
    );
    await expectError(await patch(owner, 'key_nope', { limits: null }), 404, 'not_found', 'key_id');

    // $0.000001 for this key: each request reserves up to 8 tokens ($0.0000008) and uses 2 ($0.0000002).
    const res = await patch(owner, narrow.id, { limits: { monthly_spend_cap_usd: 0.000001 } });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await json<{ limits: unknown }>(res)).limits).toMatchObject({
      monthly_spend_cap_usd: 0.000001,
      budget_mode: 'hard_stop',
    });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await sentiment(narrow.secret)).status);
    // Spent 2 x $0.0000002; a third would reserve $0.0000008 and could pass $0.000001.
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429]);
    const err = await expectError(await sentiment(narrow.secret), 429, 'spend_cap_reached');
    expect(err.message).toContain("This API key's monthly spend cap of $0.000001000");
    expect((await sentiment(wide.secret)).status).toBe(200);
    const events = await h.stores.usage.listEvents(owner.tenantId);
    expect(events.filter((e) => e.keyId === narrow.id).reduce((s, e) => s + e.costNanoUsd, 0)).toBe(400);

    // Rate limits per key, changed later; null removes every limit of the key.
    await patch(owner, narrow.id, { limits: { requests_per_minute: 1_000 } });
    expect((await sentiment(narrow.secret)).headers.get('x-ratelimit-limit-requests')).toBe('600');
    const cleared = await json<{ limits: unknown }>(await patch(owner, narrow.id, { limits: null }));
    expect(cleared.limits).toBeNull();
    expect((await h.stores.apiKeys.get(owner.tenantId, narrow.id))?.limits).toBeNull();
  });

  it('alerts at 50, 80 and 100% of the spend cap: once each, emailed to the contact, listed', async () => {
    const owner = await newOwner(h);
    await toPlan(owner.tenantId, 'payg');
    const key = await createKey(h, owner);
    // $0.00001 = 10,000 nano-USD; each request reserves 800 and uses 200.
    await setCap(owner, '0.00001');
    const statuses: number[] = [];
    for (let i = 0; i < 60 && statuses.at(-1) !== 429; i++)
      statuses.push((await sentiment(key.secret)).status);
    expect(statuses.at(-1)).toBe(429);
    const listed = await json<{ data: Alert[] }>(await h.call('/account/alerts', { key: owner.token }));
    expect(listed.data.map((a) => `${a.metric}:${a.threshold}`).sort()).toEqual([
      'spend:100',
      'spend:50',
      'spend:80',
    ]);
    const fifty = listed.data.find((a) => a.threshold === 50)!;
    expect(fifty).toMatchObject({ unit: 'usd', limit: '0.000010000', notified: owner.email });
    expect(Number(fifty.used)).toBeGreaterThanOrEqual(0.000005);
    expect(Number(fifty.used)).toBeLessThan(0.000008);
    const mails = alertMails(owner.email);
    expect(mails).toHaveLength(3);
    expect(mails.map((m) => m.subject).reverse()).toEqual([
      expect.stringContaining('is at 50% of its monthly spend cap'),
      expect.stringContaining('is at 80% of its monthly spend cap'),
      expect.stringContaining('has reached its monthly spend cap'),
    ]);
    // More refusals raise nothing new.
    await sentiment(key.secret);
    expect(alertMails(owner.email)).toHaveLength(3);
    expect((await limits(owner)).alerts).toHaveLength(3);
    await expectError(
      await h.call('/account/alerts?month=2026-13', { key: owner.token }),
      400,
      'invalid_request',
      'month',
    );
  });

  it('alerts at 100% of the included units of a free plan when they stop a request', async () => {
    const owner = await newOwner(h);
    const key = await createKey(h, owner);
    await h.call(`/admin/tenants/${owner.tenantId}/limits`, {
      key: op.token,
      method: 'PATCH',
      json: { included: { input_tokens: 20 } },
    });
    const four = 'good good good good'; // reserves 19 (one per character), uses 4
    expect((await sentiment(key.secret, 'good')).status).toBe(200);
    expect((await sentiment(key.secret, four)).status).toBe(200);
    // A request bigger than the whole allowance is refused, but says nothing about the month's use.
    await expectError(await sentiment(key.secret, `${four} ${four}`), 429, 'quota_exceeded');
    expect((await limits(owner)).alerts).toEqual([]);
    // One that fits the allowance but not what is left: the limit stopped it, which is the 100% alert.
    const err = await expectError(await sentiment(key.secret, four), 429, 'quota_exceeded');
    expect(err.message).toContain('included input tokens of your plan (20)');
    const alerts = (await limits(owner)).alerts;
    expect(alerts.map((a) => `${a.metric}:${a.threshold}:${a.used}:${a.limit}`)).toEqual([
      'included_input_tokens:100:5:20',
    ]);
    expect(alertMails(owner.email)[0]?.text).toContain('requests are refused (429 quota_exceeded)');
  });
});

describe('usage alerts across instances', () => {
  it('record each threshold once and email once, however many instances notice it at the same moment', async () => {
    const h = await createHarness();
    const store = new AlertStore(h.stores.dynamo.doc, tableNames(h.config.STAGE).main);
    const instances = Array.from(
      { length: 4 },
      () => new UsageAlerts(store, h.outbox, { publicUrl: 'http://localhost', now: () => new Date() }),
    );
    const tenant = {
      id: newId('ten'),
      name: 'Racing',
      status: 'active' as const,
      plan: 'payg',
      createdAt: new Date().toISOString(),
      contactEmail: 'race@example.com',
    };
    const fifty = [{ metric: 'spend' as const, threshold: 50 as const, used: 5, limit: 10 }];
    const results = await Promise.all(
      instances.flatMap((a) => [1, 2, 3].map(() => a.notify(tenant, '2026-11', fifty, { hardStop: false }))),
    );
    expect(results.flat()).toHaveLength(1);
    expect(await store.list(tenant.id, { month: '2026-11' })).toHaveLength(1);
    expect(h.outbox.list('race@example.com')).toHaveLength(1);

    // Two thresholds crossed by one request: both recorded, one email, for the higher.
    const both = [
      { metric: 'included_images' as const, threshold: 50 as const, used: 9, limit: 10 },
      { metric: 'included_images' as const, threshold: 80 as const, used: 9, limit: 10 },
    ];
    expect(await instances[0]!.notify(tenant, '2026-11', both, { hardStop: true })).toHaveLength(2);
    const mails = h.outbox.list('race@example.com');
    expect(mails).toHaveLength(2);
    expect(mails[0]!.subject).toContain('is at 80% of its included images');
    // An instance that knows an alert exists does not even try again.
    expect(await instances[0]!.notify(tenant, '2026-11', both, { hardStop: true })).toEqual([]);
  });
});
