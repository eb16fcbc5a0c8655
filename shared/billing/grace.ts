import type { AuditActor } from '../accounts/audit-log';
import type { BillingDeps } from './billing-deps';
import { commitDecision, decideGrace } from './status';

const GRACE: AuditActor = { kind: 'system', id: 'billing-grace' };

/**
 * Suspends tenants whose payment has been past due for longer than PAST_DUE_GRACE_DAYS. Runs with
 * the meter sync; a tenant that paid meanwhile is left alone (the commit is conditional on the
 * account still being past due).
 */
export async function enforceGrace(d: BillingDeps, now: Date): Promise<{ suspended: string[] }> {
  const suspended: string[] = [];
  for (const account of await d.store.listAccounts()) {
    if (account.status !== 'past_due') continue;
    const tenant = await d.tenants.get(account.tenantId);
    if (!tenant) continue;
    const decision = decideGrace(account, tenant, now, d.config.PAST_DUE_GRACE_DAYS);
    if (decision.outcome !== 'suspended') continue;
    if ((await commitDecision(d, { account, tenant, decision, actor: GRACE })) === 'committed') {
      suspended.push(tenant.id);
      d.log.warn({ tenantId: tenant.id }, 'tenant suspended: payment past due beyond the grace period');
    }
  }
  return { suspended };
}
