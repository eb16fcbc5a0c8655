import type { Invitation } from '#shared/accounts/invitation-store';
import type { Member } from '#shared/accounts/user-store';
import type { ApiKey, KeyLimits } from '#shared/auth/api-key-store';
import { NANO_PER_USD } from '#shared/metering/pricing';
import { projectIdOf } from '#shared/projects/project';
import { budgetOf } from '#shared/quotas/key-budget-rules';
import type { Tenant } from '#shared/tenants/tenant-store';

/** How domain objects look on the wire (snake_case, like /v1). Never a hash or a secret. */

export function tenantView(t: Tenant) {
  return {
    id: t.id,
    object: 'tenant' as const,
    name: t.name,
    status: t.status,
    plan: t.plan,
    contact_email: t.contactEmail ?? null,
    created_at: t.createdAt,
  };
}

export function memberView(m: Member) {
  return {
    object: 'member' as const,
    user_id: m.userId,
    email: m.email,
    name: m.name,
    role: m.role,
    joined_at: m.joinedAt,
  };
}

export function invitationView(i: Invitation, now: Date) {
  return {
    id: i.id,
    object: 'invitation' as const,
    email: i.email,
    role: i.role,
    status: Date.parse(i.expiresAt) > now.getTime() ? ('pending' as const) : ('expired' as const),
    invited_by: i.invitedBy,
    created_at: i.createdAt,
    expires_at: i.expiresAt,
  };
}

/** A key's budget mode and alerts as the API shows them (defaults filled in); nothing without a budget. */
function budgetView(l: KeyLimits) {
  const budget = budgetOf(l);
  if (!budget) return {};
  return {
    budget_mode: budget.mode,
    budget_alerts: budget.alerts.map((a) => ({
      threshold: a.threshold,
      recipients: a.recipients.map((r) => (r.kind === 'member' ? r.email : r.kind)),
    })),
  };
}

export function apiKeyView(k: ApiKey, now: Date) {
  const expired = k.expiresAt !== null && Date.parse(k.expiresAt) <= now.getTime();
  return {
    id: k.id,
    object: 'api_key' as const,
    name: k.name,
    prefix: k.visiblePrefix,
    status:
      k.status === 'revoked' ? ('revoked' as const) : expired ? ('expired' as const) : ('active' as const),
    scopes: k.scopes,
    limits: k.limits
      ? {
          ...(k.limits.requestsPerMinute !== undefined
            ? { requests_per_minute: k.limits.requestsPerMinute }
            : {}),
          ...(k.limits.tokensPerMinute !== undefined ? { tokens_per_minute: k.limits.tokensPerMinute } : {}),
          ...(k.limits.spendCapNanoUsd !== undefined
            ? { monthly_spend_cap_usd: k.limits.spendCapNanoUsd / NANO_PER_USD }
            : {}),
          ...budgetView(k.limits),
        }
      : null,
    created_at: k.createdAt,
    created_by: k.createdBy ?? null,
    last_used_at: k.lastUsedAt ?? null,
    expires_at: k.expiresAt,
    rotated_to: k.rotatedTo ?? null,
    project_id: projectIdOf(k),
    scope: k.scope
      ? {
          models: k.scope.models ?? [],
          endpoints: k.scope.endpoints ?? [],
          read_only: k.scope.readOnly ?? false,
          ip_allowlist: k.scope.ipAllowlist ?? [],
        }
      : null,
  };
}
