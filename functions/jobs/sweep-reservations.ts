import type { UsageStore } from '../../shared/metering/usage-store';
import type { QuotaStore } from '../../shared/quotas/quota-store';

/**
 * Releases quota reservations whose request never settled (its process crashed or was cut off),
 * and, given the usage store, closes the `open` usage records of streams whose writer is gone (a
 * crash, or a store outage mid-stream) at their allowance, once past their expiry: at most one
 * allowance step (`STREAM_ALLOWANCE_STEP`) beyond what the stream had sent.
 * Runs on a schedule: EventBridge in the cloud, a timer in the local server.
 */
export async function sweepReservations(
  quotas: QuotaStore,
  now: Date,
  usage?: UsageStore,
): Promise<{ released: number; closed: number }> {
  // Records first: a lease or reservation swept next counts a closed record at the same units as
  // an open one (its allowance), so the order changes no counter, only what the ledger says sooner.
  const closed = usage ? await usage.closeExpiredOpen(now) : 0;
  return { released: await quotas.sweepExpired(now), closed };
}
