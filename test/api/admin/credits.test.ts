import OpenAI, { RateLimitError } from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { newId } from '#shared/ids';
import { expectError, json, newOperator, newOwner, type TestOperator } from '../../support/accounts';
import { createHarness, type Harness } from '../../support/harness';

type Credits = {
  object: string;
  tenant_id: string;
  billing_mode: 'prepaid' | 'postpaid';
  balance_usd: string;
  available_usd: string;
  pending_usd: string;
  by_kind: { paid: string; promotional: string; trial: string };
  grants: {
    id: string;
    kind: string;
    amount_usd: string;
    left_usd: string;
    status: string;
    note: string | null;
    granted_by: string;
  }[];
  entries: { id: string; type: string; amount_usd: string; grant_id: string | null }[];
  next_cursor: string | null;
};

const FUTURE = '2099-01-01T00:00:00Z';
const nano = (usd: string) => Math.round(Number(usd) * 1e9);

describe('credits: operator grants, the tenant’s balance, and a prepaid tenant at zero', () => {
  let h: Harness;
  let op: TestOperator;
  beforeAll(async () => {
    h = await createHarness();
    op = await newOperator(h);
  });

  const credits = (tenantId: string, query = '') =>
    h.call(`/admin/tenants/${tenantId}/credits${query}`, { key: op.token });
  const grant = (tenantId: string, body: unknown) =>
    h.call(`/admin/tenants/${tenantId}/credits`, { key: op.token, json: body });
  const setMode = (tenantId: string, mode: string) =>
    h.call(`/admin/tenants/${tenantId}/credits`, {
      key: op.token,
      method: 'PATCH',
      json: { billing_mode: mode },
    });
  const auditCount = async () => {
    const res = await h.call('/admin/audit?limit=200', { key: op.token });
    return (await json<{ data: unknown[] }>(res)).data.length;
  };

  it('grants credit with an audit entry; the owner reads the balance by kind, the grants and the ledger', async () => {
    const owner = await newOwner(h);
    const res = await grant(owner.tenantId, {
      amount_usd: '2.50',
      kind: 'promotional',
      expires_at: FUTURE,
      note: 'launch offer',
      currency: 'USD',
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const after = await json<Credits>(res);
    expect(after).toMatchObject({
      object: 'credits',
      tenant_id: owner.tenantId,
      billing_mode: 'postpaid',
      balance_usd: '2.500000000',
      by_kind: { paid: '0.000000000', promotional: '2.500000000', trial: '0.000000000' },
    });
    expect(after.grants[0]).toMatchObject({
      kind: 'promotional',
      note: 'launch offer',
      granted_by: op.email,
    });
    await grant(owner.tenantId, { amount_usd: 10, kind: 'paid', expires_at: FUTURE });
    await grant(owner.tenantId, { amount_usd: '0.5', kind: 'trial', expires_at: FUTURE });

    const audit = await json<{ data: { action: string; target: { id: string } }[] }>(
      await h.call('/admin/audit?limit=10', { key: op.token }),
    );
    expect(
      audit.data.filter((e) => e.action === 'tenant.credit_grant' && e.target.id === owner.tenantId),
    ).toHaveLength(3);

    const mine = await h.call('/account/credits', { key: owner.token });
    expect(mine.status).toBe(200);
    const view = await json<Credits>(mine);
    expect(view.balance_usd).toBe('13.000000000');
    expect(view.by_kind).toEqual({ paid: '10.000000000', promotional: '2.500000000', trial: '0.500000000' });
    expect(view.entries.map((e) => e.type)).toEqual(['grant', 'grant', 'grant']);

    // The ledger pages, newest first.
    const first = await json<Credits>(await h.call('/account/credits?limit=2', { key: owner.token }));
    expect(first.entries).toHaveLength(2);
    const second = await json<Credits>(
      await h.call(`/account/credits?limit=2&cursor=${first.next_cursor}`, { key: owner.token }),
    );
    expect(second.entries).toHaveLength(1);
    expect(second.next_cursor).toBeNull();
    expect([...first.entries, ...second.entries].map((e) => e.id)).toEqual(view.entries.map((e) => e.id));
    await expectError(
      await h.call('/account/credits?cursor=bogus', { key: owner.token }),
      400,
      'invalid_request',
      'cursor',
    );
  });

  it('refuses bad grants with a clear 4xx and changes nothing', async () => {
    const owner = await newOwner(h);
    const before = await json<Credits>(await credits(owner.tenantId));
    const audits = await auditCount();
    const ok = { amount_usd: '1.00', kind: 'paid', expires_at: FUTURE };
    const cases: [unknown, number, string, string | null][] = [
      [{ ...ok, amount_usd: 0 }, 400, 'invalid_request', 'amount_usd'],
      [{ ...ok, amount_usd: '-5' }, 400, 'invalid_request', 'amount_usd'],
      [{ ...ok, amount_usd: -5 }, 400, 'invalid_request', 'amount_usd'],
      [{ ...ok, amount_usd: '0.0000000001' }, 400, 'invalid_request', 'amount_usd'],
      [{ ...ok, amount_usd: 'ten' }, 400, 'invalid_request', 'amount_usd'],
      [{ ...ok, expires_at: '2020-01-01T00:00:00Z' }, 400, 'invalid_request', 'expires_at'],
      [{ ...ok, expires_at: 'tomorrow' }, 400, 'invalid_request', 'expires_at'],
      [{ ...ok, currency: 'eur' }, 400, 'invalid_request', 'currency'],
      [{ ...ok, kind: 'gift' }, 400, 'invalid_request', 'kind'],
      [{ ...ok, tenant_id: 'ten_x' }, 400, 'invalid_request', null],
      [{ kind: 'paid', expires_at: FUTURE }, 400, 'invalid_request', 'amount_usd'],
    ];
    for (const [body, status, code, param] of cases) {
      const err = await expectError(await grant(owner.tenantId, body), status, code, param ?? undefined);
      expect(err.message.length).toBeGreaterThan(10);
    }
    // Unknown tenants, and ids that are not tenant ids: 404, as for another tenant's resource.
    await expectError(await grant(newId('ten'), ok), 404, 'not_found', 'tenant_id');
    await expectError(await grant('not-a-tenant', ok), 404, 'not_found', 'tenant_id');
    await expectError(await credits(newId('ten')), 404, 'not_found', 'tenant_id');
    await expectError(await setMode(newId('ten'), 'prepaid'), 404, 'not_found', 'tenant_id');
    // A tenant user is not an operator: 403, whichever tenant it names.
    await expectError(
      await h.call(`/admin/tenants/${owner.tenantId}/credits`, { key: owner.token, json: ok }),
      403,
      'forbidden',
    );

    expect(await json<Credits>(await credits(owner.tenantId))).toEqual(before);
    expect(await auditCount()).toBe(audits);
    expect(await h.stores.quotas.credits.grants(owner.tenantId)).toEqual([]);
  });

  it('at zero: 429 insufficient_balance, x-should-retry false, the SDK asks once, nothing billed; the balance never goes below zero', async () => {
    const owner = await newOwner(h);
    const key = await json<{ secret: string }>(
      await h.call('/account/keys', { key: owner.token, json: { name: 'prepaid' } }),
    );
    const switched = await setMode(owner.tenantId, 'prepaid');
    expect(switched.status).toBe(200);
    expect((await json<Credits>(switched)).billing_mode).toBe('prepaid');
    const sentiment = (input: string) =>
      h.call('/v1/text/sentiment', { key: key.secret, json: { model: 'sentiment', input } });

    // No credit yet: refused before the model runs.
    const refused = await sentiment('a fine day');
    const err = await expectError(refused.clone(), 429, 'insufficient_balance');
    expect(err.message).toMatch(/credit balance \(\$0\.000000000\)/);
    expect(refused.headers.get('x-should-retry')).toBe('false');
    expect(refused.headers.get('retry-after')).toBeNull();

    // The official SDK: one request, no retries, even with its default retry policy.
    let calls = 0;
    const client = new OpenAI({
      apiKey: key.secret,
      baseURL: 'http://tollgate.test/v1',
      fetch: async (url: string | URL | Request, init?: RequestInit) => {
        calls++;
        return h.app.request(String(url).replace('http://tollgate.test', ''), init);
      },
    });
    const sdk = await client.chat.completions
      .create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 })
      .catch((e: unknown) => e);
    expect(sdk).toBeInstanceOf(RateLimitError);
    expect((sdk as RateLimitError).code).toBe('insufficient_balance');
    expect(calls).toBe(1);
    expect(await h.stores.usage.listEvents(owner.tenantId, undefined, { all: true })).toEqual([]);

    // A little credit: requests run until it cannot pay the next one's worst case.
    await grant(owner.tenantId, { amount_usd: '0.000010', kind: 'trial', expires_at: FUTURE });
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => sentiment(`text number ${i} is here`)),
    );
    const ok = answers.filter((r) => r.status === 200);
    const no = answers.filter((r) => r.status !== 200);
    expect(ok.length).toBeGreaterThan(0);
    expect(no.length).toBeGreaterThan(0);
    for (const r of no)
      expect((await expectError(r, 429, 'insufficient_balance')).message).toMatch(/Add credit/);
    const billed = (await h.stores.usage.listEvents(owner.tenantId)).reduce((s, e) => s + e.costNanoUsd, 0);
    expect(billed).toBeGreaterThan(0);
    expect(billed).toBeLessThanOrEqual(10_000);
    // Once this instance gives its lease back, the balance is the credit less what was billed.
    await h.deps.admission.close();
    const view = await json<Credits>(await credits(owner.tenantId));
    expect(nano(view.balance_usd)).toBe(10_000 - billed);
    expect(nano(view.available_usd)).toBe(10_000 - billed);
    expect(nano(view.balance_usd)).toBeGreaterThanOrEqual(0);
  });

  it('a postpaid tenant with credit is not held to it; switching back to postpaid is audited', async () => {
    const owner = await newOwner(h);
    const key = await json<{ secret: string }>(
      await h.call('/account/keys', { key: owner.token, json: { name: 'postpaid' } }),
    );
    const res = await h.call('/v1/text/sentiment', {
      key: key.secret,
      json: { model: 'sentiment', input: 'fine' },
    });
    expect(res.status).toBe(200);
    expect((await setMode(owner.tenantId, 'prepaid')).status).toBe(200);
    await expectError(
      await h.call('/v1/text/sentiment', { key: key.secret, json: { model: 'sentiment', input: 'fine' } }),
      429,
      'insufficient_balance',
    );
    expect((await setMode(owner.tenantId, 'postpaid')).status).toBe(200);
    const again = await h.call('/v1/text/sentiment', {
      key: key.secret,
      json: { model: 'sentiment', input: 'fine' },
    });
    expect(again.status).toBe(200);
    const audit = await json<{ data: { action: string; target: { id: string }; after: unknown }[] }>(
      await h.call('/admin/audit?limit=20', { key: op.token }),
    );
    const modes = audit.data.filter(
      (e) => e.action === 'tenant.billing_mode' && e.target.id === owner.tenantId,
    );
    expect(modes.map((e) => e.after)).toEqual([{ billingMode: 'postpaid' }, { billingMode: 'prepaid' }]);
    await expectError(await setMode(owner.tenantId, 'free'), 400, 'invalid_request', 'billing_mode');
  });
});
