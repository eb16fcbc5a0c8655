import type { Context } from 'hono';
import type { ConsoleEnv } from '#api/http/env';
import { userSession } from '#api/middleware/require-role';
import type { AuditEntry } from '#shared/accounts/audit-log';
import { ApiError } from '#shared/errors';
import { type EffectiveLimits, effectiveLimits } from '#shared/quotas/plans';

/** The audit entry of a change a member made to a project or its members (written with the change). */
export function projectAudit(
  c: Context<ConsoleEnv>,
  entry: Pick<AuditEntry, 'action' | 'target' | 'before' | 'after'>,
): AuditEntry {
  const session = userSession(c);
  const { accounts, now } = c.get('deps');
  return accounts.audit.entry(
    {
      actor: { kind: 'user', id: session.userId, email: session.member.email },
      ...entry,
      target: { ...entry.target, tenantId: session.tenantId },
      requestId: c.get('requestId') ?? null,
    },
    now(),
  );
}

/**
 * The tenant's own limits now (plan, operator overrides, owner's spend cap): what a project nests
 * in. The spend cap is the narrower of the plan's (or the operator's) and the owner's own.
 */
export async function tenantLimits(c: Context<ConsoleEnv>): Promise<EffectiveLimits['tenant']> {
  const { tenant } = userSession(c);
  const plan = await c.get('deps').plans.get(tenant.plan);
  if (!plan) throw new ApiError('internal_error', `The account's plan '${tenant.plan}' is not defined.`);
  const e = effectiveLimits(plan, {
    tenantOverrides: tenant.limitOverrides,
    ownerSpendCapNanoUsd: tenant.spendCapNanoUsd,
  }).tenant;
  // The owner's own cap counts on every plan (a hard-stop plan has no spend cap of its own).
  const caps = [e.spendCapNanoUsd, tenant.spendCapNanoUsd].filter((x): x is number => x !== undefined);
  return { ...e, spendCapNanoUsd: caps.length > 0 ? Math.min(...caps) : undefined };
}

/** The stored limits of a project as an audit entry shows them. */
export function limitsForAudit(limits: unknown): Record<string, unknown> {
  return { limits: limits ?? null };
}
