import type { QuotaStore } from '../../shared/quotas/quota-store';

/**
 * Releases quota reservations whose request never settled (its process crashed or was cut off).
 * Runs on a schedule: EventBridge in the cloud, a timer in the local server.
 */
export async function sweepReservations(quotas: QuotaStore, now: Date): Promise<{ released: number }> {
  return { released: await quotas.sweepExpired(now) };
}
