import { afterAll, describe, expect, it } from 'vitest';
import { createBatch, uploadFile } from '../../functions/api/batches/service';
import type { TenantRole } from '../../shared/accounts/roles';
import { invite } from '../../shared/accounts/team';
import { issueApiKey } from '../../shared/auth/issue-api-key';
import { newId } from '../../shared/ids';
import type { TenantStatus } from '../../shared/tenants/tenant-store';
import { newEmail } from '../support/accounts';
import { billingHarness } from '../support/billing';
import type { FakeStripe } from '../support/fake-stripe';
import type { Harness } from '../support/harness';
import {
  type Caller,
  type MatrixFixture,
  type MatrixRoute,
  runSecurityMatrix,
} from '../support/security-matrix';

/** Makes a member directly in the store (the matrix needs many; invitation flows are tested elsewhere). */
async function seedMember(h: Harness, tenantId: string, role: TenantRole): Promise<string> {
  const now = new Date().toISOString();
  const email = newEmail('seeded');
  const userId = newId('usr');
  await h.deps.accounts.transact([
    ...h.stores.users.newUserItems(
      { id: userId, tenantId, email, passwordHash: 'x', emailVerifiedAt: now, createdAt: now },
      { userId, tenantId, email, name: null, role, joinedAt: now },
    ),
  ]);
  return userId;
}

/** A tenant with a Stripe customer (in the fake), for the operators' refunds and credit notes. */
async function seedCustomer(h: Harness): Promise<{ tenantId: string; customerId: string }> {
  const tenantId = await seedTenant(h);
  const made = await h.deps.billing.gateway.createCustomer(
    { tenantId, name: 'Seeded', email: null },
    `seed-${tenantId}`,
  );
  if (!made.ok) throw new Error(`no customer: ${made.kind}`);
  await h.stores.billing.attachCustomer(tenantId, made.customerId, new Date());
  return { tenantId, customerId: made.customerId };
}

async function seedInvitation(h: Harness, caller: Caller): Promise<string> {
  const inviter = await h.stores.users.getMember(
    caller.tenantId,
    (caller.subject as { userId: string }).userId,
  );
  const result = await invite(h.deps.accounts, {
    inviter: inviter!,
    email: newEmail('invitee'),
    role: 'viewer',
  });
  if (result.status !== 'invited') throw new Error(`could not invite: ${result.status}`);
  return result.invitation.id;
}

async function seedProject(h: Harness, tenantId: string): Promise<string> {
  const id = newId('proj');
  await h.stores.projects.create({
    id,
    tenantId,
    name: 'matrix',
    createdAt: new Date().toISOString(),
    limits: null,
  });
  return id;
}

const projectUnchanged = (f: MatrixFixture, tenantId: string, projectId: string) => async () => {
  const project = await f.h.stores.projects.get(tenantId, projectId);
  expect(project).toMatchObject({ name: 'matrix', limits: null });
  expect(project?.archivedAt).toBeUndefined();
  expect(await f.h.stores.projects.members(tenantId, projectId)).toEqual([]);
};

async function seedKey(h: Harness, tenantId: string): Promise<string> {
  return (await issueApiKey(h.stores.apiKeys, { tenantId, name: 'matrix' })).key.id;
}

/** A served call's usage record in a tenant's ledger: what the request log reads. */
async function seedRequest(h: Harness, tenantId: string): Promise<string> {
  const requestId = newId('req');
  await h.stores.usage.record({
    requestId,
    tenantId,
    keyId: await seedKey(h, tenantId),
    model: 'sentiment',
    version: 'v1',
    units: { input_tokens: 3 },
    costNanoUsd: 300,
    priceBook: 'matrix',
    latencyMs: 12,
    status: 'succeeded',
    at: new Date().toISOString(),
  });
  return requestId;
}

/** A paid grant an operator made (its receipt is this platform's HTML page). */
async function seedPaidGrant(h: Harness, tenantId: string): Promise<string> {
  const made = await h.stores.quotas.credits.grant(
    {
      tenantId,
      kind: 'paid',
      amountNanoUsd: 1_000_000_000,
      expiresAt: '2030-01-01T00:00:00.000Z',
      note: null,
      actor: { kind: 'system', id: 'matrix' },
      requestId: null,
    },
    new Date(),
  );
  if (made.status !== 'granted') throw new Error(`could not grant: ${made.status}`);
  return made.grant.id;
}

async function seedTenant(h: Harness, status: TenantStatus = 'active'): Promise<string> {
  const id = newId('ten');
  await h.stores.tenants.create({
    id,
    name: 'Seeded',
    status,
    plan: 'free',
    createdAt: new Date().toISOString(),
  });
  return id;
}

/** A model of its own (two active versions) for each operator change, so changes never collide. */
async function seedModel(h: Harness): Promise<string> {
  const name = `matrix-${newId('evt').slice(-8).toLowerCase()}`;
  const base = (version: string) => ({
    model: name,
    version,
    status: 'active' as const,
    releasedAt: '2026-01-01T00:00:00.000Z',
    sunsetAt: null,
    prices: { input_tokens: 100 },
    priceBook: 'pb-matrix',
    endpointName: 'tollgate-test-sentiment',
    variant: 'v1',
    limits: {},
  });
  await h.stores.catalog.putModelIfAbsent({
    name,
    task: 'text-sentiment',
    description: 'matrix',
    units: ['input_tokens'],
    defaultVersion: 'v1',
    aliases: { latest: 'v1', stable: 'v1' },
    status: 'active',
  });
  await h.stores.catalog.putVersionIfAbsent(base('v1'));
  await h.stores.catalog.putVersionIfAbsent(base('v2'));
  return name;
}

const batchLine = `${JSON.stringify({ custom_id: 'm-1', method: 'POST', url: '/v1/text/sentiment', body: { model: 'sentiment', input: 'lovely' } })}\n`;

/** A batch of one sentiment line in a tenant, billed to a new key; still running. */
async function seedBatch(h: Harness, tenantId: string): Promise<string> {
  const keyId = await seedKey(h, tenantId);
  const file = await uploadFile(h.deps, tenantId, {
    filename: 'm.jsonl',
    bytes: new TextEncoder().encode(batchLine),
    purpose: 'batch',
  });
  const batch = await createBatch(
    h.deps,
    { tenantId, keyId },
    { inputFileId: file.id, endpoint: '/v1/text/sentiment', metadata: null },
  );
  return batch.id;
}

/**
 * A finished batch per tenant and kind, made once: `output` ran its line; `errors` had its key
 * revoked before it ran, so its line failed into the error file.
 */
const finished = new Map<string, Promise<string>>();
function seedFinishedBatch(h: Harness, tenantId: string, kind: 'output' | 'errors'): Promise<string> {
  const k = `${tenantId}:${kind}`;
  if (!finished.has(k)) {
    finished.set(
      k,
      (async () => {
        const id = await seedBatch(h, tenantId);
        if (kind === 'errors') {
          const batch = await h.deps.batch.store.getBatch(tenantId, id);
          await h.stores.apiKeys.revoke(tenantId, batch!.keyId);
        }
        // A suspended tenant's lines would not run: its output is made while it was active.
        const status = (await h.stores.tenants.get(tenantId))!.status;
        if (kind === 'output' && status !== 'active') await h.stores.tenants.setStatus(tenantId, 'active');
        try {
          await h.runBatches();
        } finally {
          if (kind === 'output' && status !== 'active') await h.stores.tenants.setStatus(tenantId, status);
        }
        return id;
      })(),
    );
  }
  return finished.get(k)!;
}

const batchRunning = (f: MatrixFixture, tenantId: string, batchId: string) => async () => {
  expect((await f.h.deps.batch.store.getBatch(tenantId, batchId))?.status).toBe('in_progress');
};

const batchForm = (keyId: string) => {
  const form = new FormData();
  form.set('file', new File([batchLine], 'm.jsonl'));
  form.set('endpoint', '/v1/text/sentiment');
  form.set('key_id', keyId);
  return form;
};

const keyUnchanged = (f: MatrixFixture, tenantId: string, keyId: string) => async () => {
  const key = await f.h.stores.apiKeys.get(tenantId, keyId);
  expect(key).toMatchObject({ status: 'active', rotatedTo: null, expiresAt: null });
};

/** Every session-authenticated route. The last test checks this table against /openapi.json. */
const routes: MatrixRoute[] = [
  { name: 'GET /account', for: 'user', ok: 200, request: async () => ({ method: 'GET', path: '/account' }) },
  {
    name: 'PATCH /account',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'PATCH', path: '/account', json: { name: 'Renamed' } }),
  },
  {
    name: 'GET /account/keys',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/account/keys' }),
  },
  {
    name: 'POST /account/keys',
    for: 'user',
    ok: 201,
    whenSuspended: 'tenant_inactive',
    request: async () => ({ method: 'POST', path: '/account/keys', json: { name: 'k' } }),
  },
  {
    name: 'POST /account/keys/{key_id}/revoke',
    for: 'user',
    ok: 200,
    request: async (f, c) => ({
      method: 'POST',
      path: `/account/keys/${await seedKey(f.h, c.tenantId)}/revoke`,
    }),
    foreign: async (f, _c, owner) => {
      const keyId = await seedKey(f.h, owner.tenantId);
      return {
        req: { method: 'POST', path: `/account/keys/${keyId}/revoke` },
        unchanged: keyUnchanged(f, owner.tenantId, keyId),
      };
    },
  },
  {
    name: 'POST /account/keys/{key_id}/rotate',
    for: 'user',
    ok: 201,
    whenSuspended: 'tenant_inactive',
    request: async (f, c) => ({
      method: 'POST',
      path: `/account/keys/${await seedKey(f.h, c.tenantId)}/rotate`,
      json: { grace_period_seconds: 60 },
    }),
    foreign: async (f, _c, owner) => {
      const keyId = await seedKey(f.h, owner.tenantId);
      return {
        req: { method: 'POST', path: `/account/keys/${keyId}/rotate`, json: { grace_period_seconds: 0 } },
        unchanged: keyUnchanged(f, owner.tenantId, keyId),
      };
    },
  },
  {
    name: 'PATCH /account/keys/{key_id}',
    for: 'user',
    ok: 200,
    request: async (f, c) => ({
      method: 'PATCH',
      path: `/account/keys/${await seedKey(f.h, c.tenantId)}`,
      json: { limits: { requests_per_minute: 5 } },
    }),
    foreign: async (f, _c, owner) => {
      const keyId = await seedKey(f.h, owner.tenantId);
      return {
        req: {
          method: 'PATCH',
          path: `/account/keys/${keyId}`,
          json: { limits: { requests_per_minute: 1 } },
        },
        unchanged: async () =>
          expect((await f.h.stores.apiKeys.get(owner.tenantId, keyId))?.limits).toBeNull(),
      };
    },
  },
  {
    name: 'GET /account/limits',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/account/limits' }),
  },
  {
    name: 'PATCH /account/limits',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'PATCH', path: '/account/limits', json: { spend_cap_usd: 50 } }),
  },
  {
    name: 'GET /account/credits',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/account/credits' }),
  },
  {
    name: 'GET /account/credits/settings',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/account/credits/settings' }),
  },
  {
    name: 'PATCH /account/credits/settings',
    for: 'user',
    ok: 200,
    request: async () => ({
      method: 'PATCH',
      path: '/account/credits/settings',
      json: { low_balance_alerts_usd: ['5.00'] },
    }),
  },
  {
    name: 'PUT /account/credits/auto-recharge',
    for: 'user',
    ok: 200,
    request: async () => ({
      method: 'PUT',
      path: '/account/credits/auto-recharge',
      json: { enabled: false },
    }),
  },
  {
    name: 'GET /account/credits/grants/{grant_id}/receipt',
    for: 'user',
    ok: 200,
    request: async (f, c) => ({
      method: 'GET',
      path: `/account/credits/grants/${await seedPaidGrant(f.h, c.tenantId)}/receipt`,
    }),
    foreign: async (f, _c, owner) => {
      const grantId = await seedPaidGrant(f.h, owner.tenantId);
      const before = await f.h.stores.quotas.credits.getGrant(owner.tenantId, grantId);
      return {
        req: { method: 'GET', path: `/account/credits/grants/${grantId}/receipt` },
        unchanged: async () => {
          expect(await f.h.stores.quotas.credits.getGrant(owner.tenantId, grantId)).toEqual(before);
        },
      };
    },
  },
  {
    name: 'GET /account/alerts',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/account/alerts' }),
  },
  {
    name: 'GET /account/usage',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/account/usage?format=csv' }),
  },
  {
    name: 'GET /account/requests',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/account/requests?model=sentiment' }),
  },
  {
    name: 'GET /account/requests/refusals',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/account/requests/refusals' }),
  },
  {
    name: 'GET /account/requests/{request_id}',
    for: 'user',
    ok: 200,
    request: async (f, c) => ({
      method: 'GET',
      path: `/account/requests/${await seedRequest(f.h, c.tenantId)}`,
    }),
    foreign: async (f, _c, owner) => {
      const id = await seedRequest(f.h, owner.tenantId);
      return {
        req: { method: 'GET', path: `/account/requests/${id}` },
        unchanged: async () => {
          expect((await f.h.stores.usage.get(owner.tenantId, id))?.status).toBe('succeeded');
        },
      };
    },
  },
  {
    name: 'GET /account/audit',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/account/audit?format=csv&action=api_key.*' }),
  },
  {
    name: 'GET /account/team',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/account/team' }),
  },
  {
    name: 'POST /account/team/invitations',
    for: 'user',
    ok: 201,
    request: async () => ({
      method: 'POST',
      path: '/account/team/invitations',
      json: { email: newEmail('invitee'), role: 'developer' },
    }),
  },
  {
    name: 'DELETE /account/team/invitations/{invitation_id}',
    for: 'user',
    ok: 200,
    request: async (f, c) => ({
      method: 'DELETE',
      path: `/account/team/invitations/${await seedInvitation(f.h, c)}`,
    }),
    foreign: async (f, _c, owner) => {
      const id = await seedInvitation(f.h, owner);
      return {
        req: { method: 'DELETE', path: `/account/team/invitations/${id}` },
        unchanged: async () => expect(await f.h.stores.invitations.get(owner.tenantId, id)).toBeDefined(),
      };
    },
  },
  {
    name: 'PATCH /account/team/members/{user_id}',
    for: 'user',
    ok: 200,
    request: async (f, c) => ({
      method: 'PATCH',
      path: `/account/team/members/${await seedMember(f.h, c.tenantId, 'developer')}`,
      json: { role: 'billing' },
    }),
    foreign: async (f, _c, owner) => {
      const userId = await seedMember(f.h, owner.tenantId, 'developer');
      return {
        req: { method: 'PATCH', path: `/account/team/members/${userId}`, json: { role: 'owner' } },
        unchanged: async () =>
          expect((await f.h.stores.users.getMember(owner.tenantId, userId))?.role).toBe('developer'),
      };
    },
  },
  {
    name: 'DELETE /account/team/members/{user_id}',
    for: 'user',
    ok: 200,
    request: async (f, c) => ({
      method: 'DELETE',
      path: `/account/team/members/${await seedMember(f.h, c.tenantId, 'viewer')}`,
    }),
    foreign: async (f, _c, owner) => {
      const userId = await seedMember(f.h, owner.tenantId, 'viewer');
      return {
        req: { method: 'DELETE', path: `/account/team/members/${userId}` },
        unchanged: async () => expect(await f.h.stores.users.getMember(owner.tenantId, userId)).toBeDefined(),
      };
    },
  },
  {
    name: 'GET /account/projects',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/account/projects' }),
  },
  {
    name: 'POST /account/projects',
    for: 'user',
    ok: 201,
    request: async () => ({ method: 'POST', path: '/account/projects', json: { name: 'p' } }),
  },
  {
    name: 'GET /account/projects/{project_id}',
    for: 'user',
    ok: 200,
    request: async (f, c) => ({
      method: 'GET',
      path: `/account/projects/${await seedProject(f.h, c.tenantId)}`,
    }),
    foreign: async (f, _c, owner) => {
      const id = await seedProject(f.h, owner.tenantId);
      return {
        req: { method: 'GET', path: `/account/projects/${id}` },
        unchanged: projectUnchanged(f, owner.tenantId, id),
      };
    },
  },
  {
    name: 'PATCH /account/projects/{project_id}',
    for: 'user',
    ok: 200,
    request: async (f, c) => ({
      method: 'PATCH',
      path: `/account/projects/${await seedProject(f.h, c.tenantId)}`,
      json: { name: 'renamed', limits: { requests_per_minute: 1 } },
    }),
    foreign: async (f, _c, owner) => {
      const id = await seedProject(f.h, owner.tenantId);
      return {
        req: { method: 'PATCH', path: `/account/projects/${id}`, json: { name: 'taken', limits: null } },
        unchanged: projectUnchanged(f, owner.tenantId, id),
      };
    },
  },
  {
    name: 'POST /account/projects/{project_id}/archive',
    for: 'user',
    ok: 200,
    request: async (f, c) => ({
      method: 'POST',
      path: `/account/projects/${await seedProject(f.h, c.tenantId)}/archive`,
    }),
    foreign: async (f, _c, owner) => {
      const id = await seedProject(f.h, owner.tenantId);
      return {
        req: { method: 'POST', path: `/account/projects/${id}/archive` },
        unchanged: projectUnchanged(f, owner.tenantId, id),
      };
    },
  },
  {
    name: 'GET /account/projects/{project_id}/members',
    for: 'user',
    ok: 200,
    request: async (f, c) => ({
      method: 'GET',
      path: `/account/projects/${await seedProject(f.h, c.tenantId)}/members`,
    }),
    foreign: async (f, _c, owner) => {
      const id = await seedProject(f.h, owner.tenantId);
      return {
        req: { method: 'GET', path: `/account/projects/${id}/members` },
        unchanged: projectUnchanged(f, owner.tenantId, id),
      };
    },
  },
  {
    name: 'PUT /account/projects/{project_id}/members/{user_id}',
    for: 'user',
    ok: 200,
    request: async (f, c) => ({
      method: 'PUT',
      path: `/account/projects/${await seedProject(f.h, c.tenantId)}/members/${await seedMember(f.h, c.tenantId, 'viewer')}`,
      json: { role: 'developer' },
    }),
    foreign: async (f, _c, owner) => {
      const id = await seedProject(f.h, owner.tenantId);
      const userId = await seedMember(f.h, owner.tenantId, 'viewer');
      return {
        req: { method: 'PUT', path: `/account/projects/${id}/members/${userId}`, json: { role: 'owner' } },
        unchanged: projectUnchanged(f, owner.tenantId, id),
      };
    },
  },
  {
    name: 'DELETE /account/projects/{project_id}/members/{user_id}',
    for: 'user',
    ok: 200,
    request: async (f, c) => {
      const id = await seedProject(f.h, c.tenantId);
      const userId = await seedMember(f.h, c.tenantId, 'viewer');
      await f.h.stores.projects.setMember({
        tenantId: c.tenantId,
        projectId: id,
        userId,
        role: 'developer',
        email: 'm@example.com',
        addedAt: new Date().toISOString(),
      });
      return { method: 'DELETE', path: `/account/projects/${id}/members/${userId}` };
    },
    foreign: async (f, _c, owner) => {
      const id = await seedProject(f.h, owner.tenantId);
      const userId = await seedMember(f.h, owner.tenantId, 'viewer');
      return {
        req: { method: 'DELETE', path: `/account/projects/${id}/members/${userId}` },
        unchanged: projectUnchanged(f, owner.tenantId, id),
      };
    },
  },
  {
    name: 'POST /auth/logout',
    for: 'any',
    ok: 204,
    request: async () => ({ method: 'POST', path: '/auth/logout' }),
  },
  {
    name: 'GET /admin/tenants',
    for: 'operator',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/admin/tenants' }),
  },
  {
    name: 'GET /admin/tenants/{tenant_id}',
    for: 'operator',
    ok: 200,
    request: async (f) => ({ method: 'GET', path: `/admin/tenants/${f.owner.tenantId}` }),
  },
  {
    name: 'PATCH /admin/tenants/{tenant_id}',
    for: 'operator',
    ok: 200,
    request: async (f) => ({
      method: 'PATCH',
      path: `/admin/tenants/${await seedTenant(f.h)}`,
      json: { plan: 'enterprise' },
    }),
  },
  {
    name: 'POST /admin/tenants/{tenant_id}/suspend',
    for: 'operator',
    ok: 200,
    request: async (f) => ({ method: 'POST', path: `/admin/tenants/${await seedTenant(f.h)}/suspend` }),
  },
  {
    name: 'POST /admin/tenants/{tenant_id}/reactivate',
    for: 'operator',
    ok: 200,
    request: async (f) => ({
      method: 'POST',
      path: `/admin/tenants/${await seedTenant(f.h, 'suspended')}/reactivate`,
    }),
  },
  {
    name: 'GET /admin/tenants/{tenant_id}/limits',
    for: 'operator',
    ok: 200,
    request: async (f) => ({ method: 'GET', path: `/admin/tenants/${f.owner.tenantId}/limits` }),
  },
  {
    name: 'PATCH /admin/tenants/{tenant_id}/limits',
    for: 'operator',
    ok: 200,
    request: async (f) => ({
      method: 'PATCH',
      path: `/admin/tenants/${await seedTenant(f.h)}/limits`,
      json: { requests_per_minute: 5 },
    }),
  },
  {
    name: 'GET /admin/tenants/{tenant_id}/credits',
    for: 'operator',
    ok: 200,
    request: async (f) => ({ method: 'GET', path: `/admin/tenants/${f.owner.tenantId}/credits` }),
  },
  {
    name: 'POST /admin/tenants/{tenant_id}/credits',
    for: 'operator',
    ok: 201,
    request: async (f) => ({
      method: 'POST',
      path: `/admin/tenants/${await seedTenant(f.h)}/credits`,
      json: { amount_usd: '1.00', kind: 'paid', expires_at: '2099-01-01T00:00:00Z' },
    }),
  },
  {
    name: 'PATCH /admin/tenants/{tenant_id}/credits',
    for: 'operator',
    ok: 200,
    request: async (f) => ({
      method: 'PATCH',
      path: `/admin/tenants/${await seedTenant(f.h)}/credits`,
      json: { billing_mode: 'prepaid' },
    }),
  },
  {
    name: 'GET /admin/tenants/{tenant_id}/usage',
    for: 'operator',
    ok: 200,
    request: async (f) => ({ method: 'GET', path: `/admin/tenants/${f.owner.tenantId}/usage` }),
  },
  {
    name: 'GET /admin/plans',
    for: 'operator',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/admin/plans' }),
  },
  {
    name: 'GET /admin/plans/{plan_id}',
    for: 'operator',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/admin/plans/free' }),
  },
  {
    name: 'POST /admin/plans',
    for: 'operator',
    ok: 201,
    request: async () => ({
      method: 'POST',
      path: '/admin/plans',
      json: { id: `m-${newId('req').slice(-10).toLowerCase()}`, name: 'Matrix', overage: 'bill' },
    }),
  },
  {
    name: 'PATCH /admin/plans/{plan_id}',
    for: 'operator',
    ok: 200,
    request: async () => ({
      method: 'PATCH',
      path: '/admin/plans/enterprise',
      json: { name: 'Enterprise' },
    }),
  },
  {
    name: 'GET /admin/usage',
    for: 'operator',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/admin/usage' }),
  },
  {
    name: 'GET /admin/finance',
    for: 'operator',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/admin/finance' }),
  },
  {
    name: 'POST /admin/finance/tenants/{tenant_id}/refunds',
    for: 'operator',
    ok: 201,
    request: async (f) => {
      const { tenantId, customerId } = await seedCustomer(f.h);
      const payment = stripe!.addPayment(customerId, 500);
      return {
        method: 'POST',
        path: `/admin/finance/tenants/${tenantId}/refunds`,
        json: { payment_intent: payment.id, amount_usd: '1.00' },
      };
    },
  },
  {
    name: 'POST /admin/finance/tenants/{tenant_id}/credit-notes',
    for: 'operator',
    ok: 201,
    request: async (f) => {
      const { tenantId, customerId } = await seedCustomer(f.h);
      const created = Math.floor(Date.now() / 1000);
      const invoice = stripe!.addFinanceInvoice(customerId, { totalCents: 500, status: 'open', created });
      return {
        method: 'POST',
        path: `/admin/finance/tenants/${tenantId}/credit-notes`,
        json: { invoice: invoice.id, amount_usd: '1.00' },
      };
    },
  },
  {
    name: 'GET /account/billing',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/account/billing' }),
  },
  {
    // The session's own tenant's month: a statement names no other tenant's resource.
    name: 'GET /account/billing/statements/{month}',
    for: 'user',
    ok: 200,
    request: async () => ({
      method: 'GET',
      path: `/account/billing/statements/${new Date().toISOString().slice(0, 7)}`,
    }),
  },
  {
    name: 'POST /account/billing/checkout',
    for: 'user',
    ok: 201,
    request: async () => ({ method: 'POST', path: '/account/billing/checkout' }),
  },
  {
    name: 'POST /account/credits/top-ups',
    for: 'user',
    ok: 201,
    request: async () => ({
      method: 'POST',
      path: '/account/credits/top-ups',
      json: { amount_usd: '10.00' },
    }),
  },
  {
    name: 'POST /account/billing/portal',
    for: 'user',
    ok: 201,
    request: async () => ({ method: 'POST', path: '/account/billing/portal' }),
  },
  {
    name: 'GET /account/billing/plans',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/account/billing/plans' }),
  },
  {
    name: 'POST /account/billing/plan',
    for: 'user',
    ok: 202,
    request: async () => ({ method: 'POST', path: '/account/billing/plan', json: { plan: 'payg' } }),
    // A suspended account pays what it owes before it changes plan.
    whenSuspended: 'tenant_inactive',
  },
  {
    name: 'GET /admin/audit',
    for: 'operator',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/admin/audit?action=tenant.*&target_type=tenant' }),
  },
  {
    name: 'GET /admin/models',
    for: 'operator',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/admin/models' }),
  },
  {
    name: 'GET /admin/models/health',
    for: 'operator',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/admin/models/health' }),
  },
  {
    name: 'POST /admin/models',
    for: 'operator',
    ok: 201,
    request: async () => ({
      method: 'POST',
      path: '/admin/models',
      json: {
        name: `matrix-new-${newId('evt').slice(-8).toLowerCase()}`,
        task: 'text-sentiment',
        description: 'created by the matrix',
        units: ['input_tokens'],
        version: {
          version: 'v1',
          status: 'active',
          endpoint_name: 'tollgate-test-sentiment',
          variant: 'v1',
          prices_nano_usd: { input_tokens: 100 },
        },
      },
    }),
  },
  {
    name: 'POST /admin/models/{model}/versions',
    for: 'operator',
    ok: 201,
    request: async (f) => ({
      method: 'POST',
      path: `/admin/models/${await seedModel(f.h)}/versions`,
      json: {
        version: 'v3',
        endpoint_name: 'tollgate-test-sentiment',
        variant: 'v1',
        prices_nano_usd: { input_tokens: 100 },
      },
    }),
  },
  {
    name: 'PUT /admin/models/{model}/traffic',
    for: 'operator',
    ok: 200,
    request: async (f) => ({
      method: 'PUT',
      path: `/admin/models/${await seedModel(f.h)}/traffic`,
      json: { weights: { v1: 90, v2: 10 } },
    }),
  },
  {
    name: 'POST /admin/models/{model}/versions/{version}/promote',
    for: 'operator',
    ok: 200,
    request: async (f) => ({
      method: 'POST',
      path: `/admin/models/${await seedModel(f.h)}/versions/v2/promote`,
      json: { default: true },
    }),
  },
  {
    name: 'POST /admin/models/{model}/versions/{version}/deprecate',
    for: 'operator',
    ok: 200,
    request: async (f) => ({
      method: 'POST',
      path: `/admin/models/${await seedModel(f.h)}/versions/v2/deprecate`,
      json: { sunset_at: '2030-01-01T00:00:00.000Z' },
    }),
  },
  {
    name: 'POST /admin/models/{model}/versions/{version}/retire',
    for: 'operator',
    ok: 200,
    request: async (f) => ({
      method: 'POST',
      path: `/admin/models/${await seedModel(f.h)}/versions/v2/retire`,
      json: { replacement: 'v1' },
    }),
  },
  {
    name: 'PUT /admin/models/{model}/versions/{version}/prices',
    for: 'operator',
    ok: 200,
    request: async (f) => ({
      method: 'PUT',
      path: `/admin/models/${await seedModel(f.h)}/versions/v1/prices`,
      json: { prices_nano_usd: { input_tokens: 200 } },
    }),
  },
  {
    name: 'GET /account/batches',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/account/batches' }),
  },
  {
    name: 'POST /account/batches',
    for: 'user',
    ok: 201,
    whenSuspended: 'tenant_inactive',
    request: async (f, c) => ({
      method: 'POST',
      path: '/account/batches',
      body: batchForm(await seedKey(f.h, c.tenantId)),
    }),
  },
  {
    name: 'GET /account/batches/{batch_id}',
    for: 'user',
    ok: 200,
    request: async (f, c) => ({
      method: 'GET',
      path: `/account/batches/${await seedBatch(f.h, c.tenantId)}`,
    }),
    foreign: async (f, _c, owner) => {
      const id = await seedBatch(f.h, owner.tenantId);
      return {
        req: { method: 'GET', path: `/account/batches/${id}` },
        unchanged: batchRunning(f, owner.tenantId, id),
      };
    },
  },
  {
    name: 'POST /account/batches/{batch_id}/cancel',
    for: 'user',
    ok: 200,
    request: async (f, c) => ({
      method: 'POST',
      path: `/account/batches/${await seedBatch(f.h, c.tenantId)}/cancel`,
    }),
    foreign: async (f, _c, owner) => {
      const id = await seedBatch(f.h, owner.tenantId);
      return {
        req: { method: 'POST', path: `/account/batches/${id}/cancel` },
        unchanged: batchRunning(f, owner.tenantId, id),
      };
    },
  },
  {
    name: 'GET /account/batches/{batch_id}/output',
    for: 'user',
    ok: 200,
    request: async (f, c) => ({
      method: 'GET',
      path: `/account/batches/${await seedFinishedBatch(f.h, c.tenantId, 'output')}/output`,
    }),
    foreign: async (f, _c, owner) => {
      const id = await seedFinishedBatch(f.h, owner.tenantId, 'output');
      return {
        req: { method: 'GET', path: `/account/batches/${id}/output` },
        unchanged: async () =>
          expect((await f.h.deps.batch.store.getBatch(owner.tenantId, id))?.status).toBe('completed'),
      };
    },
  },
  {
    name: 'GET /account/batches/{batch_id}/errors',
    for: 'user',
    ok: 200,
    request: async (f, c) => ({
      method: 'GET',
      path: `/account/batches/${await seedFinishedBatch(f.h, c.tenantId, 'errors')}/errors`,
    }),
    foreign: async (f, _c, owner) => {
      const id = await seedFinishedBatch(f.h, owner.tenantId, 'errors');
      return {
        req: { method: 'GET', path: `/account/batches/${id}/errors` },
        unchanged: async () =>
          expect((await f.h.deps.batch.store.getBatch(owner.tenantId, id))?.errorFileId).not.toBeNull(),
      };
    },
  },
  {
    name: 'GET /admin/batches',
    for: 'operator',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/admin/batches' }),
  },
  {
    name: 'GET /account/models',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/account/models' }),
  },
  {
    name: 'GET /account/models/pins',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'GET', path: '/account/models/pins' }),
  },
  {
    name: 'PUT /account/models/pins/{model}',
    for: 'user',
    ok: 200,
    request: async () => ({ method: 'PUT', path: '/account/models/pins/sentiment', json: { version: 'v1' } }),
  },
  {
    name: 'DELETE /account/models/pins/{model}',
    for: 'user',
    ok: 204,
    request: async (f, c) => {
      await f.h.stores.pins.set(c.tenantId, {
        model: 'sentiment',
        version: 'v1',
        updatedAt: new Date().toISOString(),
      });
      return { method: 'DELETE', path: '/account/models/pins/sentiment' };
    },
  },
];

let harness: Harness;
let stripe: FakeStripe | undefined;
runSecurityMatrix(routes, async () => {
  // Billing routes talk to Stripe: a fake one, with prices set up, so their control succeeds.
  ({ h: harness, fake: stripe } = await billingHarness());
  return harness;
});
afterAll(async () => {
  await stripe?.stop();
});

describe('the security matrix table', () => {
  it('lists every session-authenticated route in /openapi.json, and only those', async () => {
    const doc = (await (await harness.call('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { security?: Record<string, unknown>[] }>>;
    };
    const documented: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (op.security?.some((s) => 'session' in s)) documented.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(documented.length).toBeGreaterThan(10);
    expect(routes.map((r) => r.name).sort()).toEqual(documented.sort());
  });
});

describe('cross-tenant ids', () => {
  it('every tenant route that names a resource by id has the other-tenant case (404, nothing changed)', () => {
    // Operator routes name any tenant's resources by design; pins are named by model within the caller's tenant.
    const tenantRoutesWithIds = routes.filter((r) => r.for === 'user' && /\{\w+_id\}/.test(r.name));
    expect(tenantRoutesWithIds.length).toBeGreaterThanOrEqual(6);
    expect(tenantRoutesWithIds.filter((r) => !r.foreign).map((r) => r.name)).toEqual([]);
  });
});
