import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { keys } from '#shared/db/keys';
import { tableNames } from '#shared/db/tables';
import {
  createKey,
  expectError,
  json,
  newOperator,
  newOwner,
  type TestOperator,
  type TestUser,
} from '../../support/accounts';
import { createHarness, type Harness } from '../../support/harness';

type Entry = {
  id: string;
  at: string;
  action: string;
  actor: { kind: string; id: string; email?: string };
  target: { type: string; id: string; name: string | null; tenant_id?: string; tenant_name?: string | null };
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  request_id: string | null;
};
type Page = { data: Entry[]; next_cursor: string | null };

describe('operators: the audit log, filtered and exported', () => {
  let h: Harness;
  let op: TestOperator;
  let a: TestUser;
  let b: TestUser;
  let keyA: string;

  const all = async (query: string): Promise<Entry[]> => {
    const out: Entry[] = [];
    let cursor: string | null = null;
    do {
      const res = await h.call(`/admin/audit?${query}${cursor ? `&cursor=${cursor}` : ''}`, {
        key: op.token,
      });
      expect(res.status, await res.clone().text()).toBe(200);
      const page: Page = await json<Page>(res);
      out.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    return out;
  };

  beforeAll(async () => {
    h = await createHarness();
    [op, a, b] = await Promise.all([
      newOperator(h),
      newOwner(h, { company: 'Ledger Ltd' }),
      newOwner(h, { company: 'Other Inc' }),
    ]);
    keyA = (await createKey(h, a, { name: 'ledger-prod' })).id;
    await createKey(h, b, { name: 'other-prod' });
    const suspended = await h.call(`/admin/tenants/${b.tenantId}/suspend`, {
      method: 'POST',
      key: op.token,
      json: { reason: 'e2e' },
    });
    expect(suspended.status).toBe(200);
  });

  it("shows tenants' own changes beside operators', targets and tenants named", async () => {
    const [created] = await all(`tenant_id=${a.tenantId}&action=api_key.create`);
    expect(created).toMatchObject({
      actor: { kind: 'user', id: a.userId, email: a.email },
      target: {
        type: 'api_key',
        id: keyA,
        name: 'ledger-prod',
        tenant_id: a.tenantId,
        tenant_name: 'Ledger Ltd',
      },
    });
    const [suspension] = await all(`action=tenant.suspend&tenant_id=${b.tenantId}`);
    expect(suspension).toMatchObject({
      actor: { kind: 'operator', id: op.operatorId, email: op.email },
      target: { type: 'tenant', id: b.tenantId, name: 'Other Inc', tenant_name: 'Other Inc' },
      after: { status: 'suspended', reason: 'e2e' },
    });
    // Written without a name (before entries had names): the operator's address, read now.
    const [operator] = await all(`action=operator.create&actor=system`);
    expect(operator?.target).toMatchObject({ type: 'operator', name: expect.stringContaining('@') });
  });

  it('filters by tenant, action, actor, target type and time', async () => {
    const tenantA = await all(`tenant_id=${a.tenantId}`);
    expect(tenantA.length).toBeGreaterThan(0);
    expect(tenantA.every((e) => e.target.tenant_id === a.tenantId)).toBe(true);

    const keys = await all('action=api_key.*');
    expect(new Set(keys.map((e) => e.target.tenant_id))).toEqual(new Set([a.tenantId, b.tenantId]));

    const byOperator = await all(`actor=${encodeURIComponent(op.email)}`);
    expect(byOperator.map((e) => e.action)).toEqual(['tenant.suspend']);
    expect(await all(`actor=${op.operatorId}`)).toEqual(byOperator);

    const tenants = await all('target_type=tenant');
    expect(tenants.every((e) => e.target.type === 'tenant')).toBe(true);
    expect(tenants.some((e) => e.action === 'tenant.suspend')).toBe(true);

    const everything = await all('limit=200');
    const last = everything[0]!;
    expect(await all(`from=${encodeURIComponent(last.at)}`)).toEqual(
      everything.filter((e) => e.at >= last.at),
    );
    expect((await all(`to=${encodeURIComponent(last.at)}`)).every((e) => e.at < last.at)).toBe(true);
    expect(await all('from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z')).toEqual([]);
  });

  it('exports CSV with tenant columns, and names the rest when the range holds more', async () => {
    const res = await h.call(`/admin/audit?format=csv&tenant_id=${b.tenantId}`, { key: op.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    const lines = (await res.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'at,action,actor_kind,actor_id,actor_email,target_type,target_id,target_name,tenant_id,tenant_name,before,after,request_id,id',
    );
    const suspension = lines.find((l) => l.includes(',tenant.suspend,'));
    expect(suspension).toContain(`,operator,${op.operatorId},${op.email},tenant,${b.tenantId},Other Inc,`);
    // before and after as JSON in one quoted field (its keys in any order).
    expect(suspension).toContain('""status"":""suspended""');
    expect(suspension).toContain('""reason"":""e2e""');

    const first = await h.call('/admin/audit?format=csv&limit=1', { key: op.token });
    expect(first.headers.get('x-next-cursor')).toBeTruthy();
  });

  it('refuses bad filters with a 400 naming them', async () => {
    for (const [q, param] of [
      ['tenant_id=nope', 'tenant_id'],
      ['target_type=galaxy', 'target_type'],
      ['to=not-a-time', 'to'],
      ['limit=500', 'limit'],
      ['cursor=e30', 'cursor'],
    ] as const) {
      await expectError(await h.call(`/admin/audit?${q}`, { key: op.token }), 400, 'invalid_request', param);
    }
    // A tenant's cursor does not open the whole log, nor another tenant's trail.
    const page = await json<Page>(
      await h.call(`/admin/audit?tenant_id=${a.tenantId}&limit=1`, { key: op.token }),
    );
    expect(page.next_cursor).toBeTruthy();
    await expectError(
      await h.call(`/admin/audit?tenant_id=${b.tenantId}&cursor=${page.next_cursor}`, { key: op.token }),
      400,
      'invalid_request',
      'cursor',
    );
    await expectError(
      await h.call(`/admin/audit?cursor=${page.next_cursor}`, { key: op.token }),
      400,
      'invalid_request',
      'cursor',
    );
  });

  it("moves a tenant's entries written before trails into the tenant's trail, once", async () => {
    const { audit } = h.stores;
    const entry = audit.entry(
      {
        actor: { kind: 'user', id: a.userId, email: a.email },
        action: 'tenant.auto_recharge',
        target: { type: 'tenant', id: a.tenantId, tenantId: a.tenantId },
        before: null,
        after: { enabled: true },
        requestId: null,
      },
      new Date(),
    );
    // Where entries about a tenant were kept before: their month's partition.
    await h.stores.dynamo.doc.send(
      new PutCommand({
        TableName: tableNames(h.config.STAGE).main,
        Item: {
          ...keys.auditEntry(entry.at.slice(0, 7), entry.at, entry.id),
          type: 'audit_entry',
          ...entry,
          gsi1pk: keys.auditIndex(),
          gsi1sk: `${entry.at}#${entry.id}`,
        },
      }),
    );
    const trail = async () =>
      (await json<Page>(await h.call('/account/audit?limit=200', { key: a.token }))).data.map((e) => e.id);
    expect(await trail()).not.toContain(entry.id);
    expect(await audit.moveTenantEntries()).toEqual({ moved: 1 });
    expect(await trail()).toContain(entry.id);
    expect((await all(`action=tenant.auto_recharge`)).filter((e) => e.id === entry.id)).toHaveLength(1);
    expect(await audit.moveTenantEntries()).toEqual({ moved: 0 });
  });

  it('is for operators: a tenant owner gets 403', async () => {
    await expectError(await h.call('/admin/audit', { key: a.token }), 403, 'forbidden');
  });
});
