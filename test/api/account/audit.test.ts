import { beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  createKey,
  expectError,
  json,
  newEmail,
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
  actor: { kind: string; id?: string; email?: string };
  target: { type: string; id: string; name: string | null; tenant_id?: string; tenant_name?: string | null };
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  request_id: string | null;
};
type Page = { object: 'list'; data: Entry[]; next_cursor: string | null };

describe('the tenant audit trail', () => {
  let h: Harness;
  let owner: TestUser;
  let other: TestUser;
  let op: TestOperator;

  const trail = async (user: TestUser, query = ''): Promise<Page> => {
    const res = await h.call(`/account/audit${query}`, { key: user.token });
    expect(res.status, await res.clone().text()).toBe(200);
    return json<Page>(res);
  };
  /** Every entry of a query, page after page. */
  const all = async (user: TestUser, query = ''): Promise<Entry[]> => {
    const out: Entry[] = [];
    let cursor: string | null = null;
    do {
      const sep = query ? '&' : '?';
      const page: Page = await trail(user, `${query}${cursor ? `${sep}cursor=${cursor}` : ''}`);
      out.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    return out;
  };
  const latest = async (user: TestUser, action: string): Promise<Entry> => {
    const [entry] = (await trail(user, `?action=${action}&limit=1`)).data;
    expect(entry, `no ${action} entry`).toBeDefined();
    return entry!;
  };

  beforeAll(async () => {
    h = await createHarness();
    [owner, other, op] = await Promise.all([
      newOwner(h, { company: 'Audit A' }),
      newOwner(h, { company: 'Audit B' }),
      newOperator(h),
    ]);
  });

  it('records a key created, its limits changed, rotated and revoked, by whom, with its name', async () => {
    const key = await createKey(h, owner, { name: 'production', limits: { requests_per_minute: 60 } });
    const created = await latest(owner, 'api_key.create');
    expect(created).toMatchObject({
      actor: { kind: 'user', id: owner.userId, email: owner.email },
      target: { type: 'api_key', id: key.id, name: 'production', tenant_id: owner.tenantId },
      before: null,
      after: { name: 'production', limits: { requestsPerMinute: 60 } },
      request_id: expect.stringMatching(/^req_/),
    });
    expect(JSON.stringify(created)).not.toContain(key.secret);

    const patched = await h.call(`/account/keys/${key.id}`, {
      method: 'PATCH',
      key: owner.token,
      json: { limits: { monthly_spend_cap_usd: 25, budget_mode: 'alert_only' } },
    });
    expect(patched.status, await patched.clone().text()).toBe(200);
    expect(await latest(owner, 'api_key.limits')).toMatchObject({
      target: { id: key.id, name: 'production' },
      before: { limits: { requestsPerMinute: 60 } },
      after: { limits: { spendCapNanoUsd: 25_000_000_000, budgetMode: 'alert_only' } },
    });

    const rotated = await h.call(`/account/keys/${key.id}/rotate`, {
      key: owner.token,
      json: { grace_period_seconds: 60 },
    });
    expect(rotated.status, await rotated.clone().text()).toBe(201);
    const successor = (await json<{ key: { id: string } }>(rotated)).key.id;
    expect(await latest(owner, 'api_key.rotate')).toMatchObject({
      target: { id: key.id, name: 'production' },
      after: { rotatedTo: successor },
    });

    const revoke = () => h.call(`/account/keys/${successor}/revoke`, { method: 'POST', key: owner.token });
    expect((await revoke()).status).toBe(200);
    expect((await revoke()).status).toBe(200);
    const revocations = (await trail(owner, '?action=api_key.revoke')).data;
    // A second revocation of a revoked key changes nothing, and records nothing.
    expect(revocations).toHaveLength(1);
    expect(revocations[0]).toMatchObject({
      target: { id: successor, name: 'production' },
      before: { status: 'active' },
      after: { status: 'revoked' },
    });
  });

  it('records the spend cap set, changed and removed, and nothing for no change', async () => {
    const set = (usd: number | null) =>
      h.call('/account/limits', { method: 'PATCH', key: owner.token, json: { spend_cap_usd: usd } });
    expect((await set(100)).status).toBe(200);
    expect((await set(100)).status).toBe(200);
    expect((await set(40)).status).toBe(200);
    expect((await set(null)).status).toBe(200);
    const caps = (await trail(owner, '?action=tenant.spend_cap')).data;
    expect(caps.map((e) => [e.before?.spendCapNanoUsd, e.after?.spendCapNanoUsd])).toEqual([
      [40_000_000_000, null],
      [100_000_000_000, 40_000_000_000],
      [null, 100_000_000_000],
    ]);
    expect(caps[0]).toMatchObject({ target: { type: 'tenant', id: owner.tenantId, name: 'Audit A' } });
  });

  it('records members invited, joined, re-roled and removed, and an invitation withdrawn, named by email', async () => {
    const dev = await addMember(h, owner, 'developer');
    const invited = (await trail(owner, `?action=member.invite&limit=5`)).data.find(
      (e) => e.target.name === dev.email,
    );
    expect(invited).toMatchObject({
      actor: { kind: 'user', id: owner.userId },
      target: { type: 'member', name: dev.email },
      after: { email: dev.email, role: 'developer' },
    });
    expect(await latest(owner, 'member.join')).toMatchObject({
      actor: { kind: 'user', id: dev.userId, email: dev.email },
      target: { type: 'member', id: dev.userId, name: dev.email },
      after: { role: 'developer' },
    });

    const role = await h.call(`/account/team/members/${dev.userId}`, {
      method: 'PATCH',
      key: owner.token,
      json: { role: 'viewer' },
    });
    expect(role.status, await role.clone().text()).toBe(200);
    expect(await latest(owner, 'member.role')).toMatchObject({
      target: { id: dev.userId, name: dev.email },
      before: { role: 'developer' },
      after: { role: 'viewer' },
    });

    const removed = await h.call(`/account/team/members/${dev.userId}`, {
      method: 'DELETE',
      key: owner.token,
    });
    expect(removed.status).toBe(200);
    expect(await latest(owner, 'member.remove')).toMatchObject({
      target: { id: dev.userId, name: dev.email },
      before: { role: 'viewer' },
      after: null,
    });

    const email = newEmail('withdrawn');
    const inv = await h.call('/account/team/invitations', {
      key: owner.token,
      json: { email, role: 'viewer' },
    });
    const invitationId = (await json<{ id: string }>(inv)).id;
    const withdrawn = await h.call(`/account/team/invitations/${invitationId}`, {
      method: 'DELETE',
      key: owner.token,
    });
    expect(withdrawn.status).toBe(200);
    expect(await latest(owner, 'member.invite_revoke')).toMatchObject({
      target: { type: 'member', id: invitationId, name: email },
    });
  });

  it('filters by action kind, actor, target type and time, newest first, a page at a time', async () => {
    const everything = await all(owner);
    expect(everything.length).toBeGreaterThan(10);
    expect(everything.map((e) => e.at)).toEqual(
      everything
        .map((e) => e.at)
        .sort()
        .reverse(),
    );
    expect(everything.every((e) => e.target.tenant_id === owner.tenantId)).toBe(true);

    const keysOnly = await all(owner, '?action=api_key.*');
    expect(new Set(keysOnly.map((e) => e.action))).toEqual(
      new Set(['api_key.create', 'api_key.limits', 'api_key.rotate', 'api_key.revoke']),
    );
    const members = await all(owner, '?target_type=member');
    expect(members.length).toBeGreaterThan(0);
    expect(members.every((e) => e.target.type === 'member')).toBe(true);

    const byEmail = await all(owner, `?actor=${encodeURIComponent(owner.email.toUpperCase())}`);
    const byId = await all(owner, `?actor=${owner.userId}`);
    expect(byEmail.map((e) => e.id)).toEqual(byId.map((e) => e.id));
    expect(byId.every((e) => e.actor.id === owner.userId)).toBe(true);
    // The developer's own `member.join` is theirs, not the owner's.
    expect(byId.some((e) => e.action === 'member.join')).toBe(false);

    // A small page with a selective filter: pages follow one another without gaps or repeats.
    const paged = await all(owner, '?action=api_key.*&limit=1');
    expect(paged.map((e) => e.id)).toEqual(keysOnly.map((e) => e.id));

    const middle = everything[Math.floor(everything.length / 2)]!;
    const before = await all(owner, `?to=${encodeURIComponent(middle.at)}`);
    const since = await all(owner, `?from=${encodeURIComponent(middle.at)}`);
    expect(before.every((e) => e.at < middle.at)).toBe(true);
    expect(since.every((e) => e.at >= middle.at)).toBe(true);
    expect(before.length + since.length).toBe(everything.length);
  });

  it('answers CSV with the same entries, names safe for spreadsheets', async () => {
    await createKey(h, owner, { name: '=HYPERLINK("x")' });
    const res = await h.call('/account/audit?format=csv&action=api_key.create', { key: owner.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('content-disposition')).toMatch(
      /attachment; filename="audit-\d{4}-\d{2}-\d{2}\.csv"/,
    );
    const lines = (await res.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'at,action,actor_kind,actor_id,actor_email,target_type,target_id,target_name,before,after,request_id,id',
    );
    const json = await all(owner, '?action=api_key.create');
    expect(lines).toHaveLength(json.length + 1);
    expect(lines[1]).toContain(`"'=HYPERLINK(""x"")"`);
    expect(lines[1]).toContain(`,api_key.create,user,${owner.userId},`);

    const accept = await h.call('/account/audit?limit=1', {
      key: owner.token,
      headers: { accept: 'text/csv' },
    });
    expect(accept.headers.get('content-type')).toContain('text/csv');
    // A CSV smaller than the range names where the rest starts.
    const first = await h.call('/account/audit?format=csv&limit=2', { key: owner.token });
    const next = first.headers.get('x-next-cursor');
    expect(next).toBeTruthy();
    const rest = await h.call(`/account/audit?format=csv&limit=2&cursor=${next}`, { key: owner.token });
    expect((await rest.text()).split('\r\n')[1]).not.toBe((await first.text()).split('\r\n')[1]);
  });

  it('never shows another tenant’s entries, by filter or by cursor', async () => {
    await createKey(h, other, { name: 'theirs' });
    const mine = await all(owner);
    expect(mine.some((e) => e.target.name === 'theirs')).toBe(false);
    const theirs = await all(other);
    expect(theirs.every((e) => e.target.tenant_id === other.tenantId)).toBe(true);
    expect(theirs.some((e) => e.target.name === 'theirs')).toBe(true);
    expect((await all(other, `?actor=${owner.userId}`)).length).toBe(0);

    // A cursor from one tenant's trail does not open another's.
    const page = await trail(owner, '?limit=1');
    await expectError(
      await h.call(`/account/audit?cursor=${page.next_cursor}`, { key: other.token }),
      400,
      'invalid_request',
      'cursor',
    );
  });

  it('shows Tollgate’s changes to the account without naming the operator or their notes', async () => {
    const suspend = await h.call(`/admin/tenants/${other.tenantId}/suspend`, {
      method: 'POST',
      key: op.token,
      json: { reason: 'internal: chargeback pattern' },
    });
    expect(suspend.status, await suspend.clone().text()).toBe(200);
    const reactivate = await h.call(`/admin/tenants/${other.tenantId}/reactivate`, {
      method: 'POST',
      key: op.token,
    });
    expect(reactivate.status).toBe(200);
    const entry = await latest(other, 'tenant.suspend');
    expect(entry.actor).toEqual({ kind: 'operator' });
    expect(entry.after).toEqual({ status: 'suspended' });
    expect(entry.request_id).toBeNull();
    expect(JSON.stringify(await all(other))).not.toContain(op.email);
    expect((await all(other, '?actor=operator')).map((e) => e.action)).toEqual([
      'tenant.reactivate',
      'tenant.suspend',
    ]);
    // Searching the trail for an operator's address finds nothing either.
    expect(await all(other, `?actor=${encodeURIComponent(op.email)}`)).toEqual([]);
  });

  it('is for owners only: developers, billing and viewers get 403', async () => {
    for (const role of ['developer', 'billing', 'viewer'] as const) {
      const member = await addMember(h, owner, role);
      await expectError(await h.call('/account/audit', { key: member.token }), 403, 'forbidden');
    }
  });

  it('refuses bad filters with a 400 naming them', async () => {
    const cases: [string, string][] = [
      ['?action=DROP%20TABLE', 'action'],
      ['?target_type=planet', 'target_type'],
      ['?from=yesterday', 'from'],
      ['?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z', 'from'],
      ['?limit=201', 'limit'],
      ['?limit=0', 'limit'],
      ['?cursor=abc', 'cursor'],
      ['?format=xml', 'format'],
    ];
    for (const [q, param] of cases) {
      await expectError(
        await h.call(`/account/audit${q}`, { key: owner.token }),
        400,
        'invalid_request',
        param,
      );
    }
  });
});
