import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { keys } from '#shared/db/keys';
import { tableNames } from '#shared/db/tables';
import { newId } from '#shared/ids';
import { DEFAULT_PROJECT_ID, type Project } from '#shared/projects/project';
import { DEFAULT_PROJECT_NAME } from '#shared/projects/project-store';
import { createHarness, type Harness } from '../../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});

const project = (tenantId: string, name: string, createdAt: string): Project => ({
  id: newId('proj', Date.parse(createdAt)),
  tenantId,
  name,
  createdAt,
  limits: null,
});

async function rawItem(tenantId: string, projectId: string) {
  const out = await h.stores.dynamo.doc.send(
    new GetCommand({ TableName: tableNames(h.config.STAGE).main, Key: keys.project(tenantId, projectId) }),
  );
  return out.Item;
}

describe('ProjectStore', () => {
  it('has a default project for every tenant without an item, first in the list', async () => {
    const { tenantId } = await h.newTenant();
    const store = h.stores.projects;
    expect(
      await store.get(tenantId, DEFAULT_PROJECT_ID, { defaultCreatedAt: '2026-01-01T00:00:00.000Z' }),
    ).toEqual({
      id: DEFAULT_PROJECT_ID,
      tenantId,
      name: DEFAULT_PROJECT_NAME,
      createdAt: '2026-01-01T00:00:00.000Z',
      limits: null,
    });
    expect(await rawItem(tenantId, DEFAULT_PROJECT_ID)).toBeUndefined();

    const later = project(tenantId, 'Later', '2026-03-02T00:00:00.000Z');
    const earlier = project(tenantId, 'Earlier', '2026-03-01T00:00:00.000Z');
    expect(await store.create(later)).toBe(true);
    expect(await store.create(earlier)).toBe(true);
    expect(await store.create(earlier)).toBe(false);
    expect((await store.list(tenantId)).map((p) => p.name)).toEqual([
      DEFAULT_PROJECT_NAME,
      'Earlier',
      'Later',
    ]);
    expect(await store.get(tenantId, later.id)).toEqual(later);
  });

  it("does not show one tenant's project to another", async () => {
    const a = await h.newTenant();
    const b = await h.newTenant();
    const p = project(a.tenantId, 'Secret', '2026-03-01T00:00:00.000Z');
    await h.stores.projects.create(p);
    expect(await h.stores.projects.get(b.tenantId, p.id)).toBeUndefined();
    expect((await h.stores.projects.list(b.tenantId)).map((x) => x.id)).toEqual([DEFAULT_PROJECT_ID]);
    expect(await h.stores.projects.rename(b.tenantId, p.id, 'Mine')).toBe('not_found');
    expect(await h.stores.projects.setLimits(b.tenantId, p.id, { requestsPerMinute: 1 })).toBe('not_found');
    expect((await h.stores.projects.get(a.tenantId, p.id))?.name).toBe('Secret');
  });

  it("writes the default project's item on its first change, keeping its name and date", async () => {
    const { tenantId } = await h.newTenant();
    const store = h.stores.projects;
    const created = '2025-12-01T00:00:00.000Z';
    const limited = await store.setLimits(
      tenantId,
      DEFAULT_PROJECT_ID,
      { requestsPerMinute: 30, budgetNanoUsd: 5_000_000_000, budgetMode: 'alert_only' },
      { defaultCreatedAt: created },
    );
    expect(limited).toEqual({
      id: DEFAULT_PROJECT_ID,
      tenantId,
      name: DEFAULT_PROJECT_NAME,
      createdAt: created,
      limits: { requestsPerMinute: 30, budgetNanoUsd: 5_000_000_000, budgetMode: 'alert_only' },
    });
    expect((await rawItem(tenantId, DEFAULT_PROJECT_ID))?.type).toBe('project');
    const renamed = await store.rename(tenantId, DEFAULT_PROJECT_ID, 'Production', {
      defaultCreatedAt: '2030-01-01T00:00:00.000Z',
    });
    expect(renamed).toMatchObject({
      name: 'Production',
      createdAt: created,
      limits: { requestsPerMinute: 30 },
    });
    // Limits removed: none at all, not an empty object.
    expect(await store.setLimits(tenantId, DEFAULT_PROJECT_ID, {})).toMatchObject({ limits: null });
    expect((await store.list(tenantId))[0]).toMatchObject({ id: DEFAULT_PROJECT_ID, name: 'Production' });
  });

  it('refuses changes to an archived project, and never archives the default one', async () => {
    const { tenantId } = await h.newTenant();
    const store = h.stores.projects;
    const p = project(tenantId, 'Old', '2026-02-01T00:00:00.000Z');
    await store.create(p);
    const archived = await store.archive(tenantId, p.id, '2026-02-02T00:00:00.000Z');
    expect(archived).toMatchObject({ id: p.id, archivedAt: '2026-02-02T00:00:00.000Z' });
    expect(await store.rename(tenantId, p.id, 'New')).toBe('archived');
    expect(await store.setLimits(tenantId, p.id, { tokensPerMinute: 5 })).toBe('archived');
    expect(await store.archive(tenantId, p.id, '2026-02-03T00:00:00.000Z')).toBe('archived');
    expect(await store.archive(tenantId, 'proj_nothere', '2026-02-03T00:00:00.000Z')).toBe('not_found');
    await expect(store.archive(tenantId, DEFAULT_PROJECT_ID, '2026-02-03T00:00:00.000Z')).rejects.toThrow();
    expect(await store.get(tenantId, p.id)).toMatchObject({ name: 'Old', limits: null });
  });

  it("keeps members' project roles, per project and per user", async () => {
    const { tenantId } = await h.newTenant();
    const store = h.stores.projects;
    const p = project(tenantId, 'Team', '2026-02-01T00:00:00.000Z');
    await store.create(p);
    const at = '2026-02-01T00:00:00.000Z';
    await store.setMember({
      tenantId,
      projectId: p.id,
      userId: 'usr_b',
      role: 'viewer',
      email: 'b@x.test',
      addedAt: at,
    });
    await store.setMember({
      tenantId,
      projectId: p.id,
      userId: 'usr_a',
      role: 'developer',
      email: 'a@x.test',
      addedAt: at,
    });
    await store.setMember({
      tenantId,
      projectId: DEFAULT_PROJECT_ID,
      userId: 'usr_a',
      role: 'owner',
      email: 'a@x.test',
      addedAt: at,
    });
    expect((await store.members(tenantId, p.id)).map((m) => [m.userId, m.role])).toEqual([
      ['usr_a', 'developer'],
      ['usr_b', 'viewer'],
    ]);
    expect(await store.rolesOf(tenantId, 'usr_a')).toEqual(
      new Map([
        [DEFAULT_PROJECT_ID, 'owner'],
        [p.id, 'developer'],
      ]),
    );
    await store.setMember({
      tenantId,
      projectId: p.id,
      userId: 'usr_b',
      role: 'owner',
      email: 'b@x.test',
      addedAt: at,
    });
    expect((await store.member(tenantId, p.id, 'usr_b'))?.role).toBe('owner');
    expect(await store.removeMember(tenantId, p.id, 'usr_b')).toBe(true);
    expect(await store.removeMember(tenantId, p.id, 'usr_b')).toBe(false);
    expect(await store.member(tenantId, p.id, 'usr_b')).toBeUndefined();
    // Projects and members share the tenant's partition: neither list reads the other's items.
    expect((await store.list(tenantId)).map((x) => x.id)).toEqual([DEFAULT_PROJECT_ID, p.id]);
  });
});
