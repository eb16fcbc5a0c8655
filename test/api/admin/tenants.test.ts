import { beforeAll, describe, expect, it } from 'vitest';
import { newId } from '#shared/ids';
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

type TenantView = { id: string; name: string; status: string; plan: string };
type Page<T> = { data: T[]; next_cursor: string | null };
type Audit = {
  action: string;
  actor: { kind: string; id: string; email?: string };
  target: { type: string; id: string };
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  request_id: string | null;
  at: string;
};

describe('operators: tenants', () => {
  let h: Harness;
  let op: TestOperator;
  let owner: TestUser;
  beforeAll(async () => {
    // A warm key cache, as in production: suspension must still bite at once on this instance.
    h = await createHarness({ env: { AUTH_CACHE_TTL_MS: '5000' } });
    [op, owner] = await Promise.all([newOperator(h), newOwner(h, { company: 'Zebra Analytics' })]);
  });

  const get = async <T>(path: string): Promise<T> => {
    const res = await h.call(path, { key: op.token });
    expect(res.status, await res.clone().text()).toBe(200);
    return json<T>(res);
  };

  it('lists tenants newest first, a page at a time', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = newId('ten');
      await h.stores.tenants.create({
        id,
        name: `Paged ${i}`,
        status: 'active',
        plan: 'free',
        createdAt: new Date(Date.now() + 1000 + i).toISOString(),
      });
      ids.push(id);
    }
    const first = await get<Page<TenantView>>('/admin/tenants?limit=2');
    expect(first.data.map((t) => t.id)).toEqual([ids[2], ids[1]]);
    const second = await get<Page<TenantView>>(`/admin/tenants?limit=2&cursor=${first.next_cursor}`);
    expect(second.data[0]!.id).toBe(ids[0]);
    await expectError(
      await h.call('/admin/tenants?cursor=abc', { key: op.token }),
      400,
      'invalid_request',
      'cursor',
    );
    await expectError(
      await h.call('/admin/tenants?limit=0', { key: op.token }),
      400,
      'invalid_request',
      'limit',
    );
  });

  it('finds a tenant by name prefix, member email or id', async () => {
    for (const q of ['zebra', 'ZEB', encodeURIComponent(owner.email), owner.tenantId]) {
      const page = await get<Page<TenantView>>(`/admin/tenants?q=${q}`);
      expect(
        page.data.map((t) => t.id),
        q,
      ).toEqual([owner.tenantId]);
    }
    expect((await get<Page<TenantView>>('/admin/tenants?q=nothing-like-it')).data).toEqual([]);
  });

  it('shows one tenant with members, keys and invitations, and never a secret or hash', async () => {
    const dev = await addMember(h, owner, 'developer');
    const key = await createKey(h, owner, { name: 'visible' });
    const res = await h.call(`/admin/tenants/${owner.tenantId}`, { key: op.token });
    const text = await res.text();
    expect(res.status).toBe(200);
    const body = JSON.parse(text) as {
      tenant: TenantView;
      members: { user_id: string }[];
      keys: { id: string }[];
    };
    expect(body.tenant.name).toBe('Zebra Analytics');
    expect(body.members.map((m) => m.user_id).sort()).toEqual([owner.userId, dev.userId].sort());
    expect(body.keys.map((k) => k.id)).toContain(key.id);
    expect(text).not.toContain(key.secret.slice(14));
    expect(text).not.toMatch(/"hash"|passwordHash|scrypt\$/);
    await expectError(
      await h.call(`/admin/tenants/${newId('ten')}`, { key: op.token }),
      404,
      'not_found',
      'tenant_id',
    );
  });

  it("suspend: the tenant's keys answer 403 tenant_inactive at once; reactivate restores them", async () => {
    const key = await createKey(h, owner, { name: 'suspendable' });
    const call = () =>
      h.call('/v1/text/sentiment', { key: key.secret, json: { model: 'sentiment', input: 'hi' } });
    expect((await call()).status).toBe(200);
    const res = await h.call(`/admin/tenants/${owner.tenantId}/suspend`, {
      key: op.token,
      json: { reason: 'unpaid' },
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ id: owner.tenantId, status: 'suspended' });
    const refused = await expectError(await call(), 403, 'tenant_inactive');
    expect(refused.message).toMatch(/suspended/);
    // Its users still see their account (and why it is refused).
    expect(await json(await h.call('/account', { key: owner.token }))).toMatchObject({
      tenant: { status: 'suspended' },
    });

    // Suspending twice changes nothing and writes nothing.
    expect(
      (await h.call(`/admin/tenants/${owner.tenantId}/suspend`, { method: 'POST', key: op.token })).status,
    ).toBe(200);

    const back = await h.call(`/admin/tenants/${owner.tenantId}/reactivate`, {
      method: 'POST',
      key: op.token,
    });
    expect(await json(back)).toMatchObject({ status: 'active' });
    expect((await call()).status).toBe(200);
    // Idempotent again; but a tenant that never verified is not "reactivated" into being active.
    expect(
      (await h.call(`/admin/tenants/${owner.tenantId}/reactivate`, { method: 'POST', key: op.token })).status,
    ).toBe(200);
    const pending = newId('ten');
    await h.stores.tenants.create({
      id: pending,
      name: 'P',
      status: 'pending_verification',
      plan: 'free',
      createdAt: new Date().toISOString(),
    });
    await expectError(
      await h.call(`/admin/tenants/${pending}/reactivate`, { method: 'POST', key: op.token }),
      409,
      'conflict',
      'tenant_id',
    );

    const audit = await get<Page<Audit>>('/admin/audit?limit=10');
    const mine = audit.data.filter((e) => e.target.id === owner.tenantId);
    expect(mine.map((e) => e.action)).toEqual(['tenant.reactivate', 'tenant.suspend']);
    expect(mine[1]).toMatchObject({
      actor: { kind: 'operator', id: op.operatorId, email: op.email },
      before: { status: 'active' },
      after: { status: 'suspended', reason: 'unpaid' },
      request_id: expect.stringMatching(/^req_/),
    });
    expect(Date.parse(mine[0]!.at)).toBeGreaterThanOrEqual(Date.parse(mine[1]!.at));
  });

  it('changes a plan, with before and after in the audit log; a bad plan changes nothing', async () => {
    const t = await newOwner(h, { company: 'Plan Co' });
    const res = await h.call(`/admin/tenants/${t.tenantId}`, {
      method: 'PATCH',
      key: op.token,
      json: { plan: 'enterprise' },
    });
    expect(await json(res)).toMatchObject({ plan: 'enterprise' });
    const [entry] = (await get<Page<Audit>>('/admin/audit?limit=1')).data;
    expect(entry).toMatchObject({
      action: 'tenant.plan',
      before: { plan: 'free' },
      after: { plan: 'enterprise' },
    });

    const entries = (await get<Page<Audit>>('/admin/audit?limit=200')).data.length;
    for (const body of [{ plan: 'platinum' }, {}, { plan: 'free', status: 'active' }]) {
      await expectError(
        await h.call(`/admin/tenants/${t.tenantId}`, { method: 'PATCH', key: op.token, json: body }),
        400,
        'invalid_request',
      );
    }
    expect((await h.stores.tenants.get(t.tenantId))?.plan).toBe('enterprise');
    expect((await get<Page<Audit>>('/admin/audit?limit=200')).data.length).toBe(entries);
  });

  it('reads the audit log a page at a time, newest first', async () => {
    const first = await get<Page<Audit>>('/admin/audit?limit=2');
    expect(first.data).toHaveLength(2);
    const second = await get<Page<Audit>>(`/admin/audit?limit=2&cursor=${first.next_cursor}`);
    const all = [...first.data, ...second.data].map((e) => e.at);
    expect(all).toEqual([...all].sort().reverse());
    expect((await get<Page<Audit>>('/admin/audit?limit=200')).data.at(-1)?.action).toBe('operator.create');
  });
});
