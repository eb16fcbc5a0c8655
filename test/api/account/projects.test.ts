import { beforeAll, describe, expect, it } from 'vitest';
import type { TenantRole } from '#shared/accounts/roles';
import { DEFAULT_PROJECT_ID } from '#shared/projects/project';
import { addMember, createKey, expectError, json, newOwner, type TestUser } from '../../support/accounts';
import { createHarness, type Harness } from '../../support/harness';

type ProjectBody = {
  id: string;
  name: string;
  default: boolean;
  archived_at: string | null;
  limits: Record<string, unknown> | null;
  your_role: string | null;
};
type KeyBody = { id: string; project_id: string; status: string; secret?: string };

let h: Harness;
let owner: TestUser;
let members: Record<Exclude<TenantRole, 'owner'>, TestUser>;
beforeAll(async () => {
  h = await createHarness();
  owner = await newOwner(h);
  const [developer, viewer, billing] = await Promise.all([
    addMember(h, owner, 'developer'),
    addMember(h, owner, 'viewer'),
    addMember(h, owner, 'billing'),
  ]);
  members = { developer, viewer, billing };
});

async function createProject(user: TestUser, body: Record<string, unknown>): Promise<ProjectBody> {
  const res = await h.call('/account/projects', { key: user.token, json: body });
  expect(res.status, await res.clone().text()).toBe(201);
  return json<ProjectBody>(res);
}

const setRole = (user: TestUser, projectId: string, userId: string, role: string) =>
  h.call(`/account/projects/${projectId}/members/${userId}`, {
    key: user.token,
    method: 'PUT',
    json: { role },
  });

async function auditActions(
  tenantId: string,
): Promise<{ action: string; target: Record<string, unknown> }[]> {
  const page = await h.stores.audit.list({ limit: 100 });
  if (page === 'bad_cursor') throw new Error('bad cursor');
  return page.entries.filter((e) => e.target.tenantId === tenantId);
}

describe('projects', () => {
  it('lists the default project (no item, nothing migrated) first; existing keys are in it', async () => {
    const before = await createKey(h, owner, { name: 'from before' });
    const res = await h.call('/account/projects', { key: members.viewer.token });
    expect(res.status).toBe(200);
    const list = await json<{ data: ProjectBody[] }>(res);
    expect(list.data[0]).toMatchObject({
      id: DEFAULT_PROJECT_ID,
      default: true,
      name: 'Default',
      your_role: 'viewer',
    });
    const keys = await json<{ data: KeyBody[] }>(
      await h.call(`/account/keys?project_id=${DEFAULT_PROJECT_ID}`, { key: owner.token }),
    );
    expect(keys.data.map((k) => [k.id, k.project_id])).toContainEqual([before.id, DEFAULT_PROJECT_ID]);
  });

  it('creates, renames and sets limits, each audited; another tenant sees 404', async () => {
    const p = await createProject(owner, { name: 'Search', limits: { requests_per_minute: 5 } });
    expect(p).toMatchObject({
      name: 'Search',
      default: false,
      limits: { requests_per_minute: 5 },
      your_role: 'owner',
    });

    const patched = await h.call(`/account/projects/${p.id}`, {
      key: owner.token,
      method: 'PATCH',
      json: {
        name: 'Search v2',
        limits: { tokens_per_minute: 1000, monthly_budget_usd: 1.5, budget_mode: 'alert_only' },
      },
    });
    expect(patched.status, await patched.clone().text()).toBe(200);
    expect(await json(patched)).toMatchObject({
      name: 'Search v2',
      limits: { tokens_per_minute: 1000, monthly_budget_usd: '1.500000000', budget_mode: 'alert_only' },
    });
    const got = await json<ProjectBody>(
      await h.call(`/account/projects/${p.id}`, { key: members.developer.token }),
    );
    expect(got).toMatchObject({ name: 'Search v2', your_role: 'developer' });

    const actions = (await auditActions(owner.tenantId)).filter((e) => e.target.id === p.id);
    expect(actions.map((e) => e.action).sort()).toEqual([
      'project.create',
      'project.limits',
      'project.rename',
    ]);
    expect(actions.find((e) => e.action === 'project.rename')?.target).toMatchObject({
      type: 'project',
      name: 'Search v2',
      tenantId: owner.tenantId,
    });

    const stranger = await newOwner(h);
    await expectError(
      await h.call(`/account/projects/${p.id}`, { key: stranger.token }),
      404,
      'not_found',
      'project_id',
    );
    await expectError(
      await h.call(`/account/projects/${p.id}`, {
        key: stranger.token,
        method: 'PATCH',
        json: { name: 'Mine' },
      }),
      404,
      'not_found',
    );
    await expectError(
      await h.call('/account/keys', { key: stranger.token, json: { name: 'k', project_id: p.id } }),
      404,
      'not_found',
      'project_id',
    );
    await expectError(await h.call('/account/projects/proj_unknown', { key: owner.token }), 404, 'not_found');
    expect((await h.stores.projects.get(owner.tenantId, p.id))?.name).toBe('Search v2');
  });

  it("refuses limits above the tenant's with a 400 naming the field, and changes nothing", async () => {
    const capped = await h.call('/account/limits', {
      key: owner.token,
      method: 'PATCH',
      json: { spend_cap_usd: 10 },
    });
    expect(capped.status, await capped.clone().text()).toBe(200);
    await expectError(
      await h.call('/account/projects', {
        key: owner.token,
        json: { name: 'Big', limits: { monthly_budget_usd: 10.01 } },
      }),
      400,
      'invalid_request',
      'limits.monthly_budget_usd',
    );
    const p = await createProject(owner, { name: 'Small', limits: { monthly_budget_usd: 10 } });
    await expectError(
      await h.call(`/account/projects/${p.id}`, {
        key: owner.token,
        method: 'PATCH',
        json: { limits: { monthly_budget_usd: 11 } },
      }),
      400,
      'invalid_request',
      'limits.monthly_budget_usd',
    );
    const tenantLimits = await json<{
      effective: { requests_per_minute: number | null; tokens_per_minute: number | null };
    }>(await h.call('/account/limits', { key: owner.token }));
    const rpm = tenantLimits.effective.requests_per_minute;
    expect(rpm).not.toBeNull();
    await expectError(
      await h.call(`/account/projects/${p.id}`, {
        key: owner.token,
        method: 'PATCH',
        json: { limits: { requests_per_minute: (rpm ?? 0) + 1 } },
      }),
      400,
      'invalid_request',
      'limits.requests_per_minute',
    );
    await expectError(
      await h.call(`/account/projects/${p.id}`, {
        key: owner.token,
        method: 'PATCH',
        json: { limits: { budget_mode: 'alert_only' } },
      }),
      400,
      'invalid_request',
      'limits.budget_mode',
    );
    expect((await h.stores.projects.get(owner.tenantId, p.id))?.limits).toEqual({
      budgetNanoUsd: 10_000_000_000,
    });
    await h.call('/account/limits', { key: owner.token, method: 'PATCH', json: { spend_cap_usd: null } });
  });

  it('only tenant owners create and archive projects; project owners manage their project', async () => {
    for (const role of ['developer', 'viewer', 'billing'] as const) {
      await expectError(
        await h.call('/account/projects', { key: members[role].token, json: { name: 'x' } }),
        403,
        'forbidden',
      );
    }
    const p = await createProject(owner, { name: 'Delegated' });
    await expectError(
      await h.call(`/account/projects/${p.id}`, {
        key: members.developer.token,
        method: 'PATCH',
        json: { name: 'no' },
      }),
      403,
      'forbidden',
    );
    expect((await setRole(owner, p.id, members.developer.userId, 'owner')).status).toBe(200);
    const renamed = await h.call(`/account/projects/${p.id}`, {
      key: members.developer.token,
      method: 'PATCH',
      json: { name: 'Delegated, renamed' },
    });
    expect(renamed.status).toBe(200);
    // A project owner gives roles in their project, not in others.
    expect((await setRole(members.developer, p.id, members.viewer.userId, 'developer')).status).toBe(200);
    await expectError(
      await setRole(members.developer, DEFAULT_PROJECT_ID, members.viewer.userId, 'owner'),
      403,
      'forbidden',
    );
    await expectError(
      await h.call(`/account/projects/${p.id}/archive`, { key: members.developer.token, method: 'POST' }),
      403,
      'forbidden',
    );
  });

  it('members: roles per project next to tenant roles; a project viewer may not create, revoke or rotate keys (403)', async () => {
    const p = await createProject(owner, { name: 'Roles' });
    // The tenant developer is a viewer here; the tenant viewer a developer; billing has no project role.
    expect((await setRole(owner, p.id, members.developer.userId, 'viewer')).status).toBe(200);
    expect((await setRole(owner, p.id, members.viewer.userId, 'developer')).status).toBe(200);
    const list = await json<{
      data: { user_id: string; project_role: string | null; effective_role: string | null }[];
    }>(await h.call(`/account/projects/${p.id}/members`, { key: members.billing.token }));
    const roleOf = (u: TestUser) => list.data.find((m) => m.user_id === u.userId);
    expect(roleOf(owner)).toMatchObject({ project_role: null, effective_role: 'owner' });
    expect(roleOf(members.developer)).toMatchObject({ project_role: 'viewer', effective_role: 'viewer' });
    expect(roleOf(members.viewer)).toMatchObject({ project_role: 'developer', effective_role: 'developer' });
    expect(roleOf(members.billing)).toMatchObject({ project_role: null, effective_role: null });

    await expectError(
      await h.call('/account/keys', { key: members.developer.token, json: { name: 'k', project_id: p.id } }),
      403,
      'forbidden',
    );
    const made = await h.call('/account/keys', {
      key: members.viewer.token,
      json: { name: 'k', project_id: p.id },
    });
    expect(made.status, await made.clone().text()).toBe(201);
    const key = await json<KeyBody>(made);
    expect(key.project_id).toBe(p.id);
    await expectError(
      await h.call(`/account/keys/${key.id}/revoke`, { key: members.developer.token, method: 'POST' }),
      403,
      'forbidden',
    );
    await expectError(
      await h.call(`/account/keys/${key.id}/rotate`, {
        key: members.developer.token,
        method: 'POST',
        json: {},
      }),
      403,
      'forbidden',
    );
    // In the default project the tenant developer keeps a developer's rights.
    const own = await h.call('/account/keys', { key: members.developer.token, json: { name: 'mine' } });
    expect(own.status).toBe(201);
    expect((await json<KeyBody>(own)).project_id).toBe(DEFAULT_PROJECT_ID);

    // Rotation keeps the project.
    const rotated = await h.call(`/account/keys/${key.id}/rotate`, {
      key: members.viewer.token,
      method: 'POST',
      json: {},
    });
    expect(rotated.status, await rotated.clone().text()).toBe(201);
    expect((await json<{ key: KeyBody }>(rotated)).key.project_id).toBe(p.id);

    // Project filter on the key list; unknown project: 404.
    const inProject = await json<{ data: KeyBody[] }>(
      await h.call(`/account/keys?project_id=${p.id}`, { key: owner.token }),
    );
    expect(inProject.data.every((k) => k.project_id === p.id)).toBe(true);
    expect(inProject.data).toHaveLength(2);
    await expectError(
      await h.call('/account/keys?project_id=proj_nope', { key: owner.token }),
      404,
      'not_found',
      'project_id',
    );

    // Taking the role away: the tenant role applies again.
    const removed = await h.call(`/account/projects/${p.id}/members/${members.developer.userId}`, {
      key: owner.token,
      method: 'DELETE',
    });
    expect(removed.status).toBe(200);
    expect(await json(removed)).toMatchObject({ project_role: null, effective_role: 'developer' });
    await expectError(
      await h.call(`/account/projects/${p.id}/members/${members.developer.userId}`, {
        key: owner.token,
        method: 'DELETE',
      }),
      404,
      'not_found',
    );
    const memberActions = (await auditActions(owner.tenantId)).filter((e) => e.target.type === 'member');
    expect(memberActions.map((e) => e.action)).toContain('project.member_remove');
    expect(memberActions.find((e) => e.target.id === members.viewer.userId)?.target.name).toBe(
      members.viewer.email,
    );

    // A user of another tenant cannot be given a role: 404.
    const stranger = await newOwner(h);
    await expectError(await setRole(owner, p.id, stranger.userId, 'viewer'), 404, 'not_found', 'user_id');
  });

  it('archiving revokes the project’s keys and closes it; the default project is never archived', async () => {
    const p = await createProject(owner, { name: 'Closing' });
    const key = await createKey(h, owner, { name: 'k', project_id: p.id });
    const call = () => h.call('/v1/models', { key: key.secret });
    expect((await call()).status).toBe(200);
    const archived = await h.call(`/account/projects/${p.id}/archive`, { key: owner.token, method: 'POST' });
    expect(archived.status).toBe(200);
    expect((await json<ProjectBody>(archived)).archived_at).not.toBeNull();
    expect((await call()).status).toBe(401);
    await expectError(
      await h.call('/account/keys', { key: owner.token, json: { name: 'late', project_id: p.id } }),
      409,
      'conflict',
      'project_id',
    );
    await expectError(
      await h.call(`/account/projects/${p.id}`, { key: owner.token, method: 'PATCH', json: { name: 'x' } }),
      409,
      'conflict',
    );
    // Again: a no-op.
    expect(
      (await h.call(`/account/projects/${p.id}/archive`, { key: owner.token, method: 'POST' })).status,
    ).toBe(200);
    await expectError(
      await h.call(`/account/projects/${DEFAULT_PROJECT_ID}/archive`, { key: owner.token, method: 'POST' }),
      400,
      'invalid_request',
      'project_id',
    );
    expect((await auditActions(owner.tenantId)).filter((e) => e.action === 'project.archive')).toHaveLength(
      1,
    );
  });

  it('the default project can be renamed and limited: its item is written then', async () => {
    const res = await h.call(`/account/projects/${DEFAULT_PROJECT_ID}`, {
      key: owner.token,
      method: 'PATCH',
      json: { name: 'Main', limits: { requests_per_minute: 2 } },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await json(res)).toMatchObject({ id: DEFAULT_PROJECT_ID, name: 'Main', default: true });
    expect(await h.stores.projects.get(owner.tenantId, DEFAULT_PROJECT_ID)).toMatchObject({
      name: 'Main',
      limits: { requestsPerMinute: 2 },
    });
  });
});
