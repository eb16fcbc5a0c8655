import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectError, json, newOperator, type TestOperator } from '../../support/accounts';
import { createHarness, type Harness } from '../../support/harness';

type PlanView = {
  id: string;
  name: string;
  overage: string;
  included: Record<string, number>;
  requests_per_minute: number | null;
  tokens_per_minute: number | null;
  max_concurrent: number | null;
  spend_cap_usd: string | null;
};
type Audit = { action: string; target: { id: string }; before: unknown; after: unknown };
type Limits = {
  plan: PlanView;
  overrides: Record<string, unknown>;
  effective: {
    requests_per_minute: number | null;
    spend_cap_usd: string | null;
    included: Record<string, number | null>;
  };
  month: { used: { input_tokens: number; cost_usd: string } };
};

const planId = () => `p-${randomBytes(4).toString('hex')}`;

describe('operators: plans as data', () => {
  let h: Harness;
  let op: TestOperator;
  beforeAll(async () => {
    // A warm key cache and plan cache, as in production: changes must still bite at once here.
    h = await createHarness({ env: { AUTH_CACHE_TTL_MS: '5000', CATALOG_CACHE_TTL_MS: '60000' } });
    op = await newOperator(h);
  });

  const call = (path: string, opts: { method?: string; json?: unknown } = {}) =>
    h.call(path, { key: op.token, ...opts });
  const ok = async <T>(res: Response, status = 200): Promise<T> => {
    expect(res.status, await res.clone().text()).toBe(status);
    return json<T>(res);
  };
  const lastAudit = async () => (await ok<{ data: Audit[] }>(await call('/admin/audit?limit=1'))).data[0]!;
  const sentiment = (key: string) =>
    h.call('/v1/text/sentiment', { key, json: { model: 'sentiment', input: 'good' } });

  it('lists the seeded plans and reads one; an unknown plan is 404', async () => {
    const list = await ok<{ data: PlanView[] }>(await call('/admin/plans'));
    expect(list.data.map((p) => p.id)).toEqual(expect.arrayContaining(['enterprise', 'free', 'payg']));
    const payg = await ok<PlanView>(await call('/admin/plans/payg'));
    expect(payg).toMatchObject({
      id: 'payg',
      overage: 'bill',
      requests_per_minute: 600,
      spend_cap_usd: '100.000000000',
      included: { input_tokens: 1_000_000, output_tokens: 200_000, images: 500 },
    });
    await expectError(await call('/admin/plans/platinum'), 404, 'not_found', 'plan_id');
  });

  it('creates a plan, audited; the same id again is 409 and changes nothing', async () => {
    const id = planId();
    const body = {
      id,
      name: 'Team',
      overage: 'bill',
      included: { input_tokens: 5_000 },
      requests_per_minute: 120,
      spend_cap_usd: '250.5',
    };
    const made = await ok<PlanView>(await call('/admin/plans', { json: body }), 201);
    expect(made).toEqual({
      id,
      object: 'plan',
      name: 'Team',
      overage: 'bill',
      included: { input_tokens: 5_000 },
      requests_per_minute: 120,
      tokens_per_minute: null,
      max_concurrent: null,
      spend_cap_usd: '250.500000000',
      trial_usd: null,
      trial_days: null,
      self_serve: false,
    });
    expect(await lastAudit()).toMatchObject({
      action: 'plan.create',
      target: { id },
      before: null,
      after: { id, requestsPerMinute: 120, spendCapNanoUsd: 250_500_000_000 },
    });
    await expectError(
      await call('/admin/plans', { json: { ...body, name: 'Other' } }),
      409,
      'conflict',
      'id',
    );
    expect((await ok<PlanView>(await call(`/admin/plans/${id}`))).name).toBe('Team');
  });

  it.each([
    [{ id: 'Has Space', name: 'x', overage: 'bill' }, 'id'],
    [{ id: planId(), name: '', overage: 'bill' }, 'name'],
    [{ id: planId(), name: 'x', overage: 'sometimes' }, 'overage'],
    [{ id: planId(), name: 'x', overage: 'bill', requests_per_minute: 0 }, 'requests_per_minute'],
    [{ id: planId(), name: 'x', overage: 'bill', max_concurrent: 1.5 }, 'max_concurrent'],
    [{ id: planId(), name: 'x', overage: 'bill', spend_cap_usd: '1.0000000001' }, 'spend_cap_usd'],
    [{ id: planId(), name: 'x', overage: 'bill', spend_cap_usd: -5 }, 'spend_cap_usd'],
    [{ id: planId(), name: 'x', overage: 'bill', included: { images: -1 } }, 'included.images'],
    [{ id: planId(), name: 'x', overage: 'bill', included: { gpus: 1 } }, 'included'],
    [{ id: planId(), name: 'x', overage: 'hard_stop', spend_cap_usd: 10 }, 'spend_cap_usd'],
    [{ id: planId(), name: 'x', overage: 'bill', colour: 'red' }, null],
  ])('refuses a bad plan %j, naming %s, and makes nothing', async (body, param) => {
    const res = await call('/admin/plans', { json: body });
    const err = await expectError(res, 400, 'invalid_request');
    if (param) expect(err.param).toBe(param);
    const id = (body as { id: string }).id;
    if (/^[a-z]/.test(id)) await expectError(await call(`/admin/plans/${id}`), 404, 'not_found');
  });

  it("edits a plan (audited, before and after); its tenants' keys get the new limits at once", async () => {
    const id = planId();
    await ok(
      await call('/admin/plans', {
        json: {
          id,
          name: 'Tiny',
          overage: 'hard_stop',
          included: { input_tokens: 1_000 },
          requests_per_minute: 2,
        },
      }),
      201,
    );
    const t = await h.newTenant({ plan: id });
    expect((await sentiment(t.key)).status).toBe(200);
    expect((await sentiment(t.key)).status).toBe(200);
    await expectError(await sentiment(t.key), 429, 'rate_limit_requests');

    const edited = await ok<PlanView>(
      await call(`/admin/plans/${id}`, {
        method: 'PATCH',
        json: { requests_per_minute: 100, included: { images: 3 }, name: 'Tiny 2' },
      }),
    );
    expect(edited).toMatchObject({
      name: 'Tiny 2',
      requests_per_minute: 100,
      included: { input_tokens: 1_000, images: 3 },
    });
    expect(await lastAudit()).toMatchObject({
      action: 'plan.update',
      target: { id },
      before: { requestsPerMinute: 2, name: 'Tiny' },
      after: { requestsPerMinute: 100, name: 'Tiny 2' },
    });
    const res = await sentiment(t.key);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get('x-ratelimit-limit-requests')).toBe('100');

    // null removes a limit: unlimited.
    const unlimited = await ok<PlanView>(
      await call(`/admin/plans/${id}`, { method: 'PATCH', json: { requests_per_minute: null } }),
    );
    expect(unlimited.requests_per_minute).toBeNull();
    // A change to nothing writes nothing.
    const before = await lastAudit();
    await ok(await call(`/admin/plans/${id}`, { method: 'PATCH', json: { name: 'Tiny 2' } }));
    expect(await lastAudit()).toEqual(before);
    // Rules across fields apply to the edited plan, and a refused edit changes nothing.
    await expectError(
      await call(`/admin/plans/${id}`, { method: 'PATCH', json: { spend_cap_usd: 5 } }),
      400,
      'invalid_request',
      'spend_cap_usd',
    );
    await expectError(
      await call(`/admin/plans/${id}`, { method: 'PATCH', json: { id: 'renamed' } }),
      400,
      'invalid_request',
    );
    expect((await ok<PlanView>(await call(`/admin/plans/${id}`))).spend_cap_usd).toBeNull();
    await expectError(
      await call('/admin/plans/nope', { method: 'PATCH', json: { name: 'x' } }),
      404,
      'not_found',
      'plan_id',
    );
  });

  it('a tenant can only be moved to a plan that exists', async () => {
    const t = await h.newTenant();
    for (const plan of ['pay_as_you_go', 'platinum']) {
      await expectError(
        await call(`/admin/tenants/${t.tenantId}`, { method: 'PATCH', json: { plan } }),
        400,
        'invalid_request',
        'plan',
      );
    }
    expect((await h.stores.tenants.get(t.tenantId))?.plan).toBe('free');
    const id = planId();
    await ok(await call('/admin/plans', { json: { id, name: 'New', overage: 'bill' } }), 201);
    expect(
      (
        await ok<{ plan: string }>(
          await call(`/admin/tenants/${t.tenantId}`, { method: 'PATCH', json: { plan: id } }),
        )
      ).plan,
    ).toBe(id);
    // The key is cached (AUTH_CACHE_TTL_MS 5 s), yet the new plan's limits (none) apply at once here.
    const res = await sentiment(t.key);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit-requests')).toBeNull();
  });
});

describe('operators: tenant limits', () => {
  let h: Harness;
  let op: TestOperator;
  beforeAll(async () => {
    h = await createHarness({ env: { AUTH_CACHE_TTL_MS: '5000' } });
    op = await newOperator(h);
  });

  const call = (path: string, opts: { method?: string; json?: unknown } = {}) =>
    h.call(path, { key: op.token, ...opts });

  it('overrides a plan per tenant, audited; null gives the plan back; the key feels it at once', async () => {
    const t = await h.newTenant();
    const sentiment = () =>
      h.call('/v1/text/sentiment', { key: t.key, json: { model: 'sentiment', input: 'good' } });
    expect((await sentiment()).headers.get('x-ratelimit-limit-requests')).toBe('60');

    const res = await call(`/admin/tenants/${t.tenantId}/limits`, {
      method: 'PATCH',
      json: { requests_per_minute: 1, included: { images: 7 } },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const limits = await json<Limits>(res);
    expect(limits.overrides).toEqual({ requests_per_minute: 1, included: { images: 7 } });
    expect(limits.effective).toMatchObject({
      requests_per_minute: 1,
      included: { images: 7, input_tokens: 1_000_000 },
    });
    expect(limits.month.used.input_tokens).toBeGreaterThan(0);
    const audit = await json<{ data: Audit[] }>(await call('/admin/audit?limit=1'));
    expect(audit.data[0]).toMatchObject({
      action: 'tenant.limits',
      target: { id: t.tenantId },
      before: { limitOverrides: {} },
      after: { limitOverrides: { requestsPerMinute: 1, included: { images: 7 } } },
    });
    // One request already counted this minute: the override of 1 refuses the next one, here, at once.
    await expectError(await sentiment(), 429, 'rate_limit_requests');

    const back = await json<Limits>(
      await call(`/admin/tenants/${t.tenantId}/limits`, {
        method: 'PATCH',
        json: { requests_per_minute: null, included: { images: null } },
      }),
    );
    expect(back.overrides).toEqual({});
    expect(back.effective.requests_per_minute).toBe(60);
    expect((await h.stores.tenants.get(t.tenantId))?.limitOverrides).toBeUndefined();
    expect((await sentiment()).status).toBe(200);

    const read = await json<Limits>(await call(`/admin/tenants/${t.tenantId}/limits`));
    expect(read.plan.id).toBe('free');
  });

  it('refuses bad overrides naming the field, and unknown tenants with 404', async () => {
    const t = await h.newTenant();
    for (const [body, param] of [
      [{ tokens_per_minute: 0 }, 'tokens_per_minute'],
      [{ spend_cap_usd: 'lots' }, 'spend_cap_usd'],
      [{ included: { images: 1.5 } }, 'included.images'],
      [{ plan: 'free' }, null],
    ] as const) {
      const err = await expectError(
        await call(`/admin/tenants/${t.tenantId}/limits`, { method: 'PATCH', json: body }),
        400,
        'invalid_request',
      );
      if (param) expect(err.param).toBe(param);
    }
    expect((await h.stores.tenants.get(t.tenantId))?.limitOverrides).toBeUndefined();
    for (const id of ['ten_01JZZZZZZZZZZZZZZZZZZZZZZZ', 'nope']) {
      await expectError(
        await call(`/admin/tenants/${id}/limits`, { method: 'PATCH', json: { requests_per_minute: 5 } }),
        404,
        'not_found',
        'tenant_id',
      );
      await expectError(await call(`/admin/tenants/${id}/limits`), 404, 'not_found', 'tenant_id');
    }
  });

  it("an operator's spend cap override is still lowered by the owner's own cap", async () => {
    const t = await h.newTenant({ plan: 'payg', spendCapNanoUsd: 3_000_000_000 });
    const raised = await json<Limits>(
      await call(`/admin/tenants/${t.tenantId}/limits`, { method: 'PATCH', json: { spend_cap_usd: 5_000 } }),
    );
    expect(raised.effective.spend_cap_usd).toBe('3.000000000');
    await h.stores.tenants.setSpendCap(t.tenantId, null);
    const read = await json<Limits>(await call(`/admin/tenants/${t.tenantId}/limits`));
    expect(read.effective.spend_cap_usd).toBe('5000.000000000');
  });
});
