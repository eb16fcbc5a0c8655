import type { BillingDeps } from '../../shared/billing/billing-deps';
import { enforceGrace } from '../../shared/billing/grace';
import { type SyncOptions, type SyncReport, syncUsage } from '../../shared/billing/meter-sync';
import { emfRecord, metricServices } from '../../shared/observability/metrics';

export interface BillingSyncResult extends SyncReport {
  suspended: string[];
}

/**
 * One billing run: closed usage windows to Stripe's meters, then the grace clock (past-due tenants
 * beyond PAST_DUE_GRACE_DAYS are suspended). Runs on a schedule: EventBridge in the cloud, a timer
 * in the local server. Reruns are harmless: the cursor and the identifiers make it idempotent.
 * A run stopped by a problem emits `BillingSyncFailures` (the observability stack alarms on it).
 */
export async function billingSync(
  d: BillingDeps,
  now: Date,
  opts: SyncOptions & { emit?: (line: string) => void } = {},
): Promise<BillingSyncResult> {
  const report = await syncUsage(d, now, opts);
  const { suspended } = await enforceGrace(d, now);
  const emit = opts.emit ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dims = { service: metricServices.billingSync, Stage: d.config.STAGE };
  // A backlog longer than one run is not a failure; a provider or setup problem is.
  if (report.problems.some((p) => p.reason !== 'raced')) {
    emit(JSON.stringify(emfRecord('BillingSyncFailures', 1, dims)));
  }
  // Every run that bills emits how far behind it is (0 when caught up), so the alarm sees a lag
  // that grows run after run; ledger-only stages bill nothing and emit nothing.
  if (d.gateway.mode !== 'ledger') {
    emit(JSON.stringify(emfRecord('BillingSyncLagMinutes', Math.round(report.lagMinutes), dims)));
  }
  return { ...report, suspended };
}
