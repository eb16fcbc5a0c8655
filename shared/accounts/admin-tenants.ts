import type { ApiKey } from '../auth/api-key-store';
import { keys } from '../db/keys';
import { isId } from '../ids';
import type { Project } from '../projects/project';
import type { Plan } from '../tenants/plans';
import type { Tenant, TenantPage, TenantStatus } from '../tenants/tenant-store';
import type { AccountDeps } from './account-deps';
import type { AuditActor, AuditEntry } from './audit-log';
import { normalizeEmail } from './email-address';
import type { Invitation } from './invitation-store';
import type { Member } from './user-store';

/**
 * Finds tenants for operators: `q` may be a tenant id, a member's email address, or the start of
 * a tenant's name; without `q`, every tenant newest first. One Query or GetItem, never a Scan.
 */
export async function findTenants(
  d: AccountDeps,
  opts: { q?: string; limit: number; cursor?: string },
): Promise<TenantPage | 'bad_cursor'> {
  const q = opts.q?.trim();
  if (!q) return d.tenants.list(opts);
  if (isId(q, 'ten')) {
    const tenant = await d.tenants.get(q);
    return { tenants: tenant ? [tenant] : [], cursor: null };
  }
  if (q.includes('@')) {
    const owner = await d.users.findEmailOwner(normalizeEmail(q));
    const tenant = owner?.kind === 'user' ? await d.tenants.get(owner.tenantId) : undefined;
    return { tenants: tenant ? [tenant] : [], cursor: null };
  }
  return d.tenants.searchByName(q, opts);
}

export interface TenantDetail {
  tenant: Tenant;
  members: Member[];
  keys: ApiKey[];
  invitations: Invitation[];
  /** Its projects, the default one first (synthesized when it has no item). */
  projects: Project[];
}

export async function tenantDetail(d: AccountDeps, tenantId: string): Promise<TenantDetail | undefined> {
  const tenant = await d.tenants.get(tenantId);
  if (!tenant) return undefined;
  const [members, invitations, keyList, projects] = await Promise.all([
    d.users.listMembers(tenantId),
    d.invitations.list(tenantId),
    allKeys(d, tenantId),
    d.projects.list(tenantId, { defaultCreatedAt: tenant.createdAt }),
  ]);
  return { tenant, members, keys: keyList, invitations, projects };
}

async function allKeys(d: AccountDeps, tenantId: string): Promise<ApiKey[]> {
  const out: ApiKey[] = [];
  let cursor: string | undefined;
  do {
    const page = await d.apiKeys.list(tenantId, { limit: 100, cursor });
    if (page === 'bad_cursor') break;
    out.push(...page.keys);
    cursor = page.cursor ?? undefined;
  } while (cursor);
  return out;
}

export type TenantChange =
  | { kind: 'status'; to: Extract<TenantStatus, 'active' | 'suspended'>; reason?: string }
  | { kind: 'plan'; to: Plan };

export type ChangeResult =
  | { status: 'changed'; tenant: Tenant; entry: AuditEntry }
  | { status: 'unchanged'; tenant: Tenant }
  | { status: 'not_found' }
  | { status: 'conflict'; tenant: Tenant; message: string };

/**
 * An operator's change to a tenant, and its audit entry (who, what, when, before, after), in one
 * transaction conditional on the tenant not having changed since it was read. Suspension and
 * reactivation also evict the tenant from this instance's key cache, so they bite at once here
 * and within AUTH_CACHE_TTL_MS everywhere else.
 */
export async function changeTenant(
  d: AccountDeps,
  input: { tenantId: string; change: TenantChange; actor: AuditActor; requestId: string | null },
): Promise<ChangeResult> {
  const tenant = await d.tenants.get(input.tenantId);
  if (!tenant) return { status: 'not_found' };
  const { change } = input;
  const field = change.kind === 'status' ? 'status' : 'plan';
  const before = tenant[field];
  if (before === change.to) return { status: 'unchanged', tenant };
  if (change.kind === 'status' && change.to === 'active' && tenant.status !== 'suspended') {
    return {
      status: 'conflict',
      tenant,
      message: `Only a suspended tenant can be reactivated; this one is ${tenant.status}.`,
    };
  }
  const now = d.now();
  const entry = d.audit.entry(
    {
      actor: input.actor,
      action:
        change.kind === 'plan'
          ? 'tenant.plan'
          : change.to === 'suspended'
            ? 'tenant.suspend'
            : 'tenant.reactivate',
      target: { type: 'tenant', id: tenant.id, tenantId: tenant.id },
      before: { [field]: before },
      after: {
        [field]: change.to,
        ...(change.kind === 'status' && change.reason ? { reason: change.reason } : {}),
      },
      requestId: input.requestId,
    },
    now,
  );
  try {
    await d.transact([
      {
        Update: {
          TableName: d.users.table,
          Key: keys.tenant(tenant.id),
          UpdateExpression: 'SET #f = :to',
          ConditionExpression: '#f = :before',
          ExpressionAttributeNames: { '#f': field },
          ExpressionAttributeValues: { ':to': change.to, ':before': before },
        },
      },
      d.audit.putItem(entry),
    ]);
  } catch (err) {
    if ((err as Error).name !== 'TransactionCanceledException') throw err;
    const now2 = await d.tenants.get(tenant.id);
    if (!now2) return { status: 'not_found' };
    return {
      status: 'conflict',
      tenant: now2,
      message: 'The tenant changed meanwhile; read it again and retry.',
    };
  }
  d.authenticator.forgetTenant(tenant.id);
  return { status: 'changed', tenant: { ...tenant, [field]: change.to }, entry };
}
