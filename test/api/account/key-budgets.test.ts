import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { issueApiKey } from '#shared/auth/issue-api-key';
import { keys } from '#shared/db/keys';
import { tableNames } from '#shared/db/tables';
import { AlertStore } from '#shared/quotas/alerts';
import { KeyBudgetAlerts } from '#shared/quotas/key-budgets';
import { windowsAt } from '#shared/quotas/windows';
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
import { parseSse } from '../../support/sse';

type KeyView = {
  id: string;
  limits: {
    monthly_spend_cap_usd?: number;
    budget_mode?: string;
    budget_alerts?: { threshold: number; recipients: string[] }[];
  } | null;
};
type Alert = {
  metric: string;
  threshold: number;
  unit: string;
  used: string;
  limit: string;
  notified: string | null;
  key: { id: string; name: string; budget_mode: string } | null;
  recipients: string[];
};

describe('per-key budgets', () => {
  let h: Harness;
  let op: TestOperator;
  beforeAll(async () => {
    h = await createHarness();
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
  // "good day": 2 input tokens, $0.0000002 (200 nano-USD); it reserves up to 8 tokens.
  const sentiment = (key: string) =>
    h.call('/v1/text/sentiment', { key, json: { model: 'sentiment', input: 'good day' } });
  const patch = (user: TestUser, keyId: string, body: unknown) =>
    h.call(`/account/keys/${keyId}`, { key: user.token, method: 'PATCH', json: body });
  const alerts = async (user: TestUser) => {
    const res = await h.call('/account/alerts', { key: user.token });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await json<{ data: Alert[] }>(res)).data;
  };
  const budgetMails = (to: string) => h.outbox.list(to).filter((m) => m.kind === 'key_budget_alert');
  const counter = async (k: { pk: string; sk: string }) =>
    (
      await h.stores.dynamo.doc.send(
        new GetCommand({ TableName: tableNames(h.config.STAGE).main, Key: k, ConsistentRead: true }),
      )
    ).Item;

  it('alert_only never refuses, costs admission nothing, and alerts each threshold once to its recipients', async () => {
    const owner = await newOwner(h);
    await toPlan(owner.tenantId, 'payg');
    const developer = await addMember(h, owner, 'developer');
    const billing = await addMember(h, owner, 'billing');
    // Made by the developer: the key's creator.
    const key = await createKey(h, developer, { name: 'team-a' });
    // $0.000001 = 1,000 nano-USD: 50% after 3 requests, 80% after 4, 100% after 5.
    const res = await patch(owner, key.id, {
      limits: {
        monthly_spend_cap_usd: 0.000001,
        budget_mode: 'alert_only',
        budget_alerts: [
          { threshold: 100, recipients: ['owner', 'creator'] },
          { threshold: 50, recipients: ['creator'] },
          { threshold: 80, recipients: ['creator', billing.email.toUpperCase()] },
        ],
      },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await json<KeyView>(res)).limits).toEqual({
      monthly_spend_cap_usd: 0.000001,
      budget_mode: 'alert_only',
      budget_alerts: [
        { threshold: 50, recipients: ['creator'] },
        { threshold: 80, recipients: ['creator', billing.email] },
        { threshold: 100, recipients: ['owner', 'creator'] },
      ],
    });

    const sentAfter: number[] = [];
    for (let i = 0; i < 10; i++) {
      expect((await sentiment(key.secret)).status).toBe(200);
      await h.drainUsage();
      sentAfter.push(budgetMails(developer.email).length);
    }
    // The creator's emails came at the 3rd, 4th and 5th request (50, 80, 100%), then no more.
    expect(sentAfter).toEqual([0, 0, 1, 2, 3, 3, 3, 3, 3, 3]);
    const seen = budgetMails(developer.email)
      .map((m) => m.subject)
      .reverse();
    // Past 200% of the budget and every request was served.
    const spent = (await h.stores.usage.listEvents(owner.tenantId))
      .filter((e) => e.keyId === key.id)
      .reduce((s, e) => s + e.costNanoUsd, 0);
    expect(spent).toBe(2_000);
    // Admission never saw the budget: no month counter of the key was written.
    expect(
      await counter(keys.quotaKeyMonth(owner.tenantId, key.id, windowsAt(new Date()).month)),
    ).toBeUndefined();

    const listed = (await alerts(owner)).filter((a) => a.metric === 'key_spend');
    expect(listed.map((a) => a.threshold).sort()).toEqual([100, 50, 80]);
    for (const a of listed) {
      expect(a.key).toEqual({ id: key.id, name: 'team-a', budget_mode: 'alert_only' });
      expect(a).toMatchObject({ unit: 'usd', limit: '0.000001000' });
      expect(Number(a.used) * 100).toBeGreaterThanOrEqual(0.000001 * a.threshold - 1e-12);
    }
    expect(listed.find((a) => a.threshold === 50)!.recipients).toEqual([developer.email]);
    expect(listed.find((a) => a.threshold === 80)!.recipients.sort()).toEqual(
      [developer.email, billing.email].sort(),
    );
    expect(listed.find((a) => a.threshold === 100)!.recipients.sort()).toEqual(
      [owner.email, developer.email].sort(),
    );
    // One email per threshold to each recipient, in order, and nothing more however far past.
    expect(seen).toEqual([
      expect.stringContaining('is at 50% of its monthly budget'),
      expect.stringContaining('is at 80% of its monthly budget'),
      expect.stringContaining('has reached its monthly budget'),
    ]);
    expect(budgetMails(developer.email)).toHaveLength(3);
    expect(budgetMails(billing.email).map((m) => m.subject)).toEqual([expect.stringContaining('is at 80%')]);
    expect(budgetMails(owner.email)).toHaveLength(1);
    expect(budgetMails(owner.email)[0]!.text).toContain('keep being served past it');
    expect(budgetMails(owner.email)[0]!.text).toContain('team-a');
    // The tenant's own alerts are untouched by a key's budget.
    expect((await alerts(owner)).filter((a) => a.metric !== 'key_spend')).toEqual([]);
  });

  it('hard_stop refuses concurrent streamed calls at the budget with no overshoot, and raises its 100% alert', async () => {
    const owner = await newOwner(h);
    await toPlan(owner.tenantId, 'payg');
    const key = await createKey(h, owner, { name: 'streamer' });
    const other = await createKey(h, owner, { name: 'other' });
    // $0.0002; each chat reserves its prompt + 64 output tokens at chat prices.
    const res = await patch(owner, key.id, {
      limits: { monthly_spend_cap_usd: 0.0002, budget_mode: 'hard_stop' },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const chat = (i: number, secret = key.secret) =>
      h.call('/v1/chat/completions', {
        key: secret,
        json: {
          model: 'chat',
          max_tokens: 64,
          stream: true,
          messages: [{ role: 'user', content: `Say something, number ${i}.` }],
        },
      });
    const results = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const r = await chat(i);
        return { status: r.status, body: await r.text(), retry: r.headers.get('x-should-retry') };
      }),
    );
    const served = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(served.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    expect(served.length + refused.length).toBe(40);
    for (const r of served) expect(parseSse(r.body).at(-1)?.data).toBe('[DONE]');
    const err = JSON.parse(refused[0]!.body) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('spend_cap_reached');
    expect(err.error.message).toContain("This API key's monthly spend cap of $0.000200000");
    expect(refused[0]!.retry).toBe('false');
    const events = await h.stores.usage.listEvents(owner.tenantId);
    const spent = events.filter((e) => e.keyId === key.id).reduce((s, e) => s + e.costNanoUsd, 0);
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(200_000);
    // Another key of the tenant is not held back by this key's budget.
    expect((await chat(99, other.secret)).status).toBe(200);

    const listed = (await alerts(owner)).filter((a) => a.metric === 'key_spend');
    const hundred = listed.filter((a) => a.threshold === 100);
    expect(hundred).toHaveLength(1);
    expect(hundred[0]).toMatchObject({
      key: { id: key.id, name: 'streamer', budget_mode: 'hard_stop' },
      recipients: [owner.email],
    });
    // The owner made the key: owner and creator are one address, emailed once per threshold.
    const mails = budgetMails(owner.email);
    expect(new Set(mails.map((m) => m.subject)).size).toBe(mails.length);
    expect(mails.some((m) => m.text.includes('are refused (429 spend_cap_reached)'))).toBe(true);
  });

  it('a cap set without a mode (every key before budgets) is a hard stop with the default alerts', async () => {
    const owner = await newOwner(h);
    await toPlan(owner.tenantId, 'payg');
    const { key, secret } = await issueApiKey(h.stores.apiKeys, {
      tenantId: owner.tenantId,
      name: 'legacy',
      limits: { spendCapNanoUsd: 1_000 },
    });
    const listed = await json<{ data: KeyView[] }>(await h.call('/account/keys', { key: owner.token }));
    expect(listed.data.find((k) => k.id === key.id)?.limits).toEqual({
      monthly_spend_cap_usd: 0.000001,
      budget_mode: 'hard_stop',
      budget_alerts: [50, 80, 100].map((threshold) => ({ threshold, recipients: ['owner', 'creator'] })),
    });
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++) statuses.push((await sentiment(secret)).status);
    // The consumer counts what was served (within a second or so in AWS).
    await h.drainUsage();
    for (let i = 0; i < 2; i++) statuses.push((await sentiment(secret)).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
    await h.drainUsage();
    // A platform-made key has no creator: its alerts go to the owners.
    const raised = (await alerts(owner)).filter((a) => a.key?.id === key.id);
    expect(raised.map((a) => a.threshold).sort()).toEqual([100]);
    expect(raised[0]!.recipients).toEqual([owner.email]);
    // 400 nano-USD spent of 1,000: 50% was not reached; the refusal is the 100% alert.
    expect(raised[0]!.used).toBe('0.000000400');
  });

  it('bad budgets name the field and change nothing; another tenant’s key is a 404', async () => {
    const owner = await newOwner(h);
    const key = await createKey(h, owner);
    const stranger = await newOwner(h);
    const strangerDev = await addMember(h, stranger, 'developer');
    const set = await patch(owner, key.id, {
      limits: { monthly_spend_cap_usd: 5, budget_mode: 'alert_only' },
    });
    expect(set.status, await set.clone().text()).toBe(200);
    const before = (await h.stores.apiKeys.get(owner.tenantId, key.id))?.limits;

    const cases: [unknown, string][] = [
      [{ monthly_spend_cap_usd: 5, budget_mode: 'soft' }, 'limits.budget_mode'],
      [{ monthly_spend_cap_usd: 0 }, 'limits.monthly_spend_cap_usd'],
      [{ monthly_spend_cap_usd: 0.0000000001 }, 'limits.monthly_spend_cap_usd'],
      [{ budget_mode: 'alert_only' }, 'limits.budget_mode'],
      [{ budget_alerts: [] }, 'limits.budget_alerts'],
      [
        { monthly_spend_cap_usd: 5, budget_alerts: [{ threshold: 40, recipients: ['owner'] }] },
        'limits.budget_alerts[0].threshold',
      ],
      [
        {
          monthly_spend_cap_usd: 5,
          budget_alerts: [
            { threshold: 50, recipients: ['owner'] },
            { threshold: 50, recipients: ['creator'] },
          ],
        },
        'limits.budget_alerts',
      ],
      [
        { monthly_spend_cap_usd: 5, budget_alerts: [{ threshold: 80, recipients: [] }] },
        'limits.budget_alerts[0].recipients',
      ],
      [
        { monthly_spend_cap_usd: 5, budget_alerts: [{ threshold: 80, recipients: ['boss'] }] },
        'limits.budget_alerts[0].recipients[0]',
      ],
      [
        {
          monthly_spend_cap_usd: 5,
          budget_alerts: [{ threshold: 80, recipients: ['owner', 'nobody@example.com'] }],
        },
        'limits.budget_alerts[0].recipients[1]',
      ],
      [
        { monthly_spend_cap_usd: 5, budget_alerts: [{ threshold: 100, recipients: [strangerDev.email] }] },
        'limits.budget_alerts[0].recipients[0]',
      ],
    ];
    for (const [limits, param] of cases) {
      const err = await expectError(await patch(owner, key.id, { limits }), 400, 'invalid_request', param);
      expect(err.message.length).toBeGreaterThan(10);
    }
    // The same checks when a key is made with a budget: nothing is created.
    const made = await h.call('/account/keys', {
      key: owner.token,
      json: {
        name: 'bad',
        limits: {
          monthly_spend_cap_usd: 5,
          budget_alerts: [{ threshold: 50, recipients: [strangerDev.email] }],
        },
      },
    });
    await expectError(made, 400, 'invalid_request', 'limits.budget_alerts[0].recipients[0]');
    const page = await json<{ data: KeyView[] }>(await h.call('/account/keys', { key: owner.token }));
    expect(page.data.map((k) => k.id)).toEqual([key.id]);
    expect((await h.stores.apiKeys.get(owner.tenantId, key.id))?.limits).toEqual(before);

    // Another tenant's key: not found, unchanged.
    const theirs = await createKey(h, stranger);
    await expectError(
      await patch(owner, theirs.id, { limits: { monthly_spend_cap_usd: 1, budget_mode: 'alert_only' } }),
      404,
      'not_found',
      'key_id',
    );
    expect((await h.stores.apiKeys.get(stranger.tenantId, theirs.id))?.limits).toBeNull();
    // Only owners set budgets.
    await expectError(
      await patch(strangerDev, theirs.id, { limits: { monthly_spend_cap_usd: 1 } }),
      403,
      'forbidden',
    );
  });

  it('are in /openapi.json', async () => {
    const doc = await json<{
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    }>(await h.call('/openapi.json'));
    const s = doc.components.schemas;
    const apiKeyLimits = (s.ApiKey!.properties!.limits as { properties: Record<string, unknown> }).properties;
    expect(Object.keys(apiKeyLimits)).toEqual(
      expect.arrayContaining(['monthly_spend_cap_usd', 'budget_mode', 'budget_alerts']),
    );
    expect(JSON.stringify(s.UpdateKeyRequest)).toContain('alert_only');
    expect(Object.keys(s.UsageAlert!.properties!)).toEqual(expect.arrayContaining(['key', 'recipients']));
  });
});

describe('key budget alerts across consumers', () => {
  it('record each threshold once and email each recipient once, however many check at the same moment', async () => {
    const h = await createHarness();
    const owner = await newOwner(h);
    const { key, secret } = await issueApiKey(h.stores.apiKeys, {
      tenantId: owner.tenantId,
      name: 'racing',
      limits: { spendCapNanoUsd: 400, budgetMode: 'alert_only' },
    });
    for (let i = 0; i < 2; i++)
      expect(
        (await h.call('/v1/text/sentiment', { key: secret, json: { model: 'sentiment', input: 'good day' } }))
          .status,
      ).toBe(200);
    const names = tableNames(h.config.STAGE);
    const store = new AlertStore(h.stores.dynamo.doc, names.main);
    // Several consumers (other stream shards, a retried batch) that have not seen each other's work.
    const consumers = Array.from(
      { length: 4 },
      () =>
        new KeyBudgetAlerts(
          h.stores.dynamo.doc,
          names.usage,
          store,
          { apiKeys: h.stores.apiKeys, users: h.stores.users, tenants: h.stores.tenants },
          h.outbox,
          { publicUrl: 'http://localhost', now: () => new Date(), keyCacheMs: 0 },
        ),
    );
    // The poller counts the records (this harness's own check is off: only the four race).
    h.stores.usageConsumer.afterApply(async () => undefined);
    await h.drainUsage();
    const month = windowsAt(new Date()).month;
    const touched = { tenantId: owner.tenantId, keyId: key.id, month };
    const results = await Promise.all(consumers.flatMap((c) => [1, 2].map(() => c.check(touched))));
    // Each threshold recorded by exactly one of them.
    expect(
      results
        .flat()
        .map((a) => a.threshold)
        .sort(),
    ).toEqual([100, 50, 80]);
    const listed = (await store.list(owner.tenantId, { month })).filter((a) => a.keyId === key.id);
    expect(listed.map((a) => a.threshold).sort()).toEqual([100, 50, 80]);
    // Each email once at most (a winner mails the highest it recorded), the 100% one always.
    const mails = h.outbox.list(owner.email).filter((m) => m.kind === 'key_budget_alert');
    expect(new Set(mails.map((m) => m.subject)).size).toBe(mails.length);
    expect(mails.some((m) => m.subject.includes('has reached its monthly budget'))).toBe(true);
    expect(await Promise.all(consumers.map((c) => c.check(touched)))).toEqual([[], [], [], []]);
  });
});
