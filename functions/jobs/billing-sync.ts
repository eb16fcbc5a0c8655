import { type RechargeReport, runAutoRecharges } from '../../shared/billing/auto-recharge';
import type { BillingDeps } from '../../shared/billing/billing-deps';
import { enforceGrace } from '../../shared/billing/grace';
import { type SyncOptions, type SyncReport, syncUsage } from '../../shared/billing/meter-sync';
import { type ReconcileReport, reconcilePayments } from '../../shared/billing/top-ups';
import { emfRecord, metricServices } from '../../shared/observability/metrics';

export interface BillingSyncResult extends SyncReport {
  suspended: string[];
  /** The grace clock looked at every past-due tenant whose grace period is over (false: its deadline came first). */
  graceComplete: boolean;
  /** Payments credited by reconciliation (their credit was missing); null when it failed. */
  reconciled: ReconcileReport | null;
  /** Auto-recharges checked and made; null when they failed. */
  recharges: RechargeReport | null;
}

/** Prepaid credit's part of a run: reconciliation against Stripe, then auto-recharges. */
async function creditJobs(
  d: BillingDeps,
  now: Date,
  opts: { deadlineMs?: number; clock?: () => number },
): Promise<{ reconciled: ReconcileReport | null; recharges: RechargeReport | null; failed: boolean }> {
  let failed = false;
  const reconciled = await reconcilePayments(d, now, opts).catch((err: unknown) => {
    d.log.error({ err }, 'payment reconciliation failed; the next run retries');
    failed = true;
    return null;
  });
  const recharges = await runAutoRecharges(d, now, opts).catch((err: unknown) => {
    d.log.error({ err }, 'auto-recharges failed; the next run retries');
    failed = true;
    return null;
  });
  return { reconciled, recharges, failed: failed || (recharges?.errors ?? 0) > 0 };
}

/**
 * One billing run: a stretch of the meter sync's walk over the tenants (closed usage windows to
 * Stripe's meters, from where the last run stopped, until the walk's end or `deadlineMs`), and the
 * grace clock (past-due tenants beyond PAST_DUE_GRACE_DAYS are suspended), and prepaid credit's
 * part: payments reconciled against Stripe (a top-up whose credit is missing is credited) and
 * auto-recharges (shared/billing/top-ups.ts, auto-recharge.ts). Runs on a schedule:
 * EventBridge in the cloud, a timer in the local server.
 *
 * The two run side by side, each bounded by the deadline, so the grace clock ticks in every run:
 * a walk that uses all of its time, stops on a problem or throws cannot starve it (and the grace
 * clock, a handful of reads, cannot starve the walk). A sync that throws still fails the run,
 * after the grace clock is done. Reruns and overlapping runs are harmless: the walk's lease, the
 * tenants' cursors and the meter events' identifiers make the sync idempotent; the grace clock's
 * commits are conditional. A run stopped by a problem emits `BillingSyncFailures` (the
 * observability stack alarms on it).
 */
export async function billingSync(
  d: BillingDeps,
  now: Date,
  opts: SyncOptions & { emit?: (line: string) => void } = {},
): Promise<BillingSyncResult> {
  const reserved =
    opts.deadlineMs === undefined ? undefined : opts.deadlineMs - (opts.finishReserveMs ?? 250);
  const creditsRun = creditJobs(d, now, { deadlineMs: reserved, clock: opts.clock });
  const [sync, grace] = await Promise.allSettled([
    syncUsage(d, now, opts),
    enforceGrace(d, now, { deadlineMs: reserved, clock: opts.clock }),
  ]);
  const credits = await creditsRun;
  const emit = opts.emit ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dims = { service: metricServices.billingSync, Stage: d.config.STAGE };
  if (grace.status === 'rejected') d.log.error({ err: grace.reason }, 'grace clock failed');
  // A backlog longer than one run is not a failure, nor is another run holding the walk; a
  // provider or setup problem is, and so is a run that threw.
  const failed =
    credits.failed ||
    sync.status === 'rejected' ||
    grace.status === 'rejected' ||
    sync.value.problems.some((p) => p.reason !== 'raced');
  if (failed) emit(JSON.stringify(emfRecord('BillingSyncFailures', 1, dims)));
  if (sync.status === 'rejected') throw sync.reason;
  if (grace.status === 'rejected') throw grace.reason;
  const report = sync.value;
  // Every run that bills emits how far behind it is (see `walkLagMinutes`), so the alarm sees a
  // lag that grows run after run; ledger-only stages bill nothing and emit nothing.
  if (d.gateway.mode !== 'ledger') {
    emit(JSON.stringify(emfRecord('BillingSyncLagMinutes', Math.round(report.lagMinutes), dims)));
  }
  return {
    ...report,
    suspended: grace.value.suspended,
    graceComplete: grace.value.complete,
    reconciled: credits.reconciled,
    recharges: credits.recharges,
  };
}
