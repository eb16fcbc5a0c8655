import type { CreditNotices } from '../../shared/credits/credit-notices';
import type { UsageStore } from '../../shared/metering/usage-store';
import type { QuotaStore } from '../../shared/quotas/quota-store';
import type { Tenant } from '../../shared/tenants/tenant-store';

/** What the sweep needs to tell owners of low-balance crossings. */
export interface LowBalanceDeps {
  notices: CreditNotices;
  tenants: { get(id: string): Promise<Tenant | undefined> };
}

/**
 * Releases quota reservations whose request never settled (its process crashed or was cut off),
 * and, given the usage store, closes the `open` usage records of streams whose writer is gone (a
 * crash, or a store outage mid-stream) at their allowance, once past their expiry: at most one
 * allowance step (`STREAM_ALLOWANCE_STEP`) beyond what the stream had sent; then brings every
 * prepaid tenant's credit ledger up to date (CreditStore.catchUp) and, given `lowBalance`, checks
 * the owners' low-balance thresholds (CreditStore.checkLowBalance: once per crossing, re-armed
 * when the balance is back above).
 * Runs on a schedule: EventBridge in the cloud, a timer in the local server.
 */
export async function sweepReservations(
  quotas: QuotaStore,
  now: Date,
  usage?: UsageStore,
  lowBalance?: LowBalanceDeps,
): Promise<{
  released: number;
  closed: number;
  credits: number;
  creditFailures: number;
  lowBalanceAlerts: number;
}> {
  // Records first: a lease or reservation swept next counts a closed record at the same units as
  // an open one (its allowance), so the order changes no counter, only what the ledger says sooner.
  const closed = usage ? await usage.closeExpiredOpen(now) : 0;
  const released = await quotas.sweepExpired(now);
  // Then the prepaid tenants' credit ledgers: due expiries, final records burned, expiries
  // completed. Each step is conditional on what it read, so a sweep racing a read is harmless; a
  // tenant that fails is tried again by the next sweep (and by its next read or refusal).
  let credits = 0;
  let creditFailures = 0;
  let lowBalanceAlerts = 0;
  for (const tenantId of await quotas.credits.tenantsWithBalance()) {
    try {
      // The low-balance check catches the ledger up first.
      const fired = lowBalance
        ? await quotas.credits.checkLowBalance(tenantId, now)
        : await quotas.credits.catchUp(tenantId, now).then(() => []);
      if (lowBalance && fired.length > 0) {
        const tenant = await lowBalance.tenants.get(tenantId);
        if (tenant) await lowBalance.notices.lowBalance(tenant, fired);
        lowBalanceAlerts += fired.length;
      }
      credits++;
    } catch {
      creditFailures++;
    }
  }
  return { released, closed, credits, creditFailures, lowBalanceAlerts };
}
