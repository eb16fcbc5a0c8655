import type { AuditActor } from '../accounts/audit-log';
import { type BillingDeps, graceEndsAt } from './billing-deps';
import type { BillingAccount } from './billing-store';
import { commitDecision, decideGrace } from './status';

const GRACE: AuditActor = { kind: 'system', id: 'billing-grace' };

export interface GraceOptions {
  /** When to stop (wall clock, ms): tenants not reached by then are reached by the next run. */
  deadlineMs?: number;
  clock?: () => number;
}

/**
 * Suspends tenants whose payment has been past due for longer than PAST_DUE_GRACE_DAYS. Runs in
 * every billing run, beside the meter sync and not after it, so a sync that is slow, stopped or
 * failing cannot keep it from ticking. It reads the past-due accounts (page by page, stopping at
 * its deadline) and, of those, the tenants whose grace period is over; a suspended tenant is no
 * longer past due, so a run stopped by its deadline leaves only the rest for the next one. A
 * tenant that paid meanwhile is left alone (the commit is conditional on the account still being
 * past due), so overlapping runs are harmless.
 */
export async function enforceGrace(
  d: BillingDeps,
  now: Date,
  opts: GraceOptions = {},
): Promise<{ suspended: string[]; complete: boolean }> {
  const clock = opts.clock ?? Date.now;
  const deadline = opts.deadlineMs ?? Number.POSITIVE_INFINITY;
  const suspended: string[] = [];
  // A page or a tenant is started only with room for twice the slowest one so far.
  let slowest = 0;
  const mustStop = () => clock() + 2 * slowest >= deadline;
  const pages = d.store.pastDue();
  for (;;) {
    if (mustStop()) {
      await pages.return(undefined);
      return { suspended, complete: false };
    }
    const reading = clock();
    const page = await pages.next();
    slowest = Math.max(slowest, clock() - reading);
    if (page.done) break;
    for (const account of page.value) {
      if (!account.pastDueSince) continue;
      if (graceEndsAt(account.pastDueSince, d.config.PAST_DUE_GRACE_DAYS).getTime() > now.getTime()) continue;
      const started = clock();
      if (mustStop()) {
        await pages.return(undefined);
        return { suspended, complete: false };
      }
      if (await suspendIfOverdue(d, account, now)) suspended.push(account.tenantId);
      slowest = Math.max(slowest, clock() - started);
    }
  }
  return { suspended, complete: true };
}

async function suspendIfOverdue(d: BillingDeps, account: BillingAccount, now: Date): Promise<boolean> {
  const tenant = await d.tenants.get(account.tenantId);
  if (!tenant) return false;
  const decision = decideGrace(account, tenant, now, d.config.PAST_DUE_GRACE_DAYS);
  if (decision.outcome !== 'suspended') return false;
  if ((await commitDecision(d, { account, tenant, decision, actor: GRACE })) !== 'committed') return false;
  d.log.warn({ tenantId: tenant.id }, 'tenant suspended: payment past due beyond the grace period');
  return true;
}
