import type { AutoRecharge, RechargeAttemptResult } from '../credits/top-up-store';
import { keys } from '../db/keys';
import { newId } from '../ids';
import { type BillingDeps, creditsReturnUrl } from './billing-deps';
import { autoRechargeFailedMessage } from './emails';
import { creditPayment } from './top-ups';

/** A balance as dollars and cents, rounded down (what the email shows). */
const centsOf = (nano: number) => {
  const cents = Math.floor(nano / 10_000_000);
  return `${cents < 0 ? '-' : ''}${Math.floor(Math.abs(cents) / 100)}.${String(Math.abs(cents) % 100).padStart(2, '0')}`;
};

/** An attempt left `charging` longer than this (Stripe unreachable all along) is given up. */
const ABANDON_AFTER_MS = 20 * 3600_000;

export type RechargeOutcome =
  | 'off'
  | 'not_prepaid'
  | 'above_threshold'
  | 'daily_limit'
  | 'raced'
  | 'succeeded'
  | 'failed'
  | 'pending';

export interface RechargeReport {
  tenants: number;
  succeeded: number;
  failed: number;
  /** Left `charging` for the next run (Stripe did not answer). */
  pending: number;
  errors: number;
  complete: boolean;
}

/** The idempotency key of a tenant's `seq`-th recharge of `day`: every retry of it is the same charge. */
export const rechargeKey = (tenantId: string, day: string, seq: number) =>
  `tollgate-recharge-${tenantId}-${day}-${seq}`;

/**
 * Auto-recharge, run by the billing job (never on the request path, never by a timer of its own):
 * for each tenant with it on, an attempt left `charging` is finished first; then, if the tenant is
 * prepaid and its balance is below the threshold and fewer than `max_per_day` recharges were made
 * today (UTC), one attempt is claimed and charged off-session with the saved card.
 */
export async function runAutoRecharges(
  d: BillingDeps,
  now: Date,
  opts: { deadlineMs?: number; clock?: () => number } = {},
): Promise<RechargeReport> {
  const report: RechargeReport = {
    tenants: 0,
    succeeded: 0,
    failed: 0,
    pending: 0,
    errors: 0,
    complete: true,
  };
  if (d.gateway.mode === 'ledger') return report;
  const clock = opts.clock ?? Date.now;
  for (const tenantId of await d.credits.topUps.autoRechargeTenants()) {
    if (opts.deadlineMs !== undefined && clock() >= opts.deadlineMs) {
      report.complete = false;
      break;
    }
    report.tenants++;
    try {
      const outcome = await rechargeTenant(d, tenantId, now);
      if (outcome === 'succeeded') report.succeeded++;
      if (outcome === 'failed') report.failed++;
      if (outcome === 'pending') report.pending++;
    } catch (err) {
      report.errors++;
      d.log.error({ err, tenantId }, 'auto-recharge not checked; the next run retries');
    }
  }
  return report;
}

/** One tenant's auto-recharge: finish an attempt under way, else start one if the balance is low. */
export async function rechargeTenant(d: BillingDeps, tenantId: string, now: Date): Promise<RechargeOutcome> {
  const r = await d.credits.topUps.autoRecharge(tenantId);
  if (r.state === 'charging' && r.attempt) return charge(d, r, r.attempt, now);
  if (!r.enabled || !r.card) return 'off';
  const tenant = await d.tenants.get(tenantId);
  if (tenant?.billingMode !== 'prepaid') return 'not_prepaid';
  const statement = await d.credits.statement(tenantId, now);
  if (statement.balanceNanoUsd >= r.thresholdNanoUsd) return 'above_threshold';
  const day = now.toISOString().slice(0, 10);
  const done = r.day === day ? r.countToday : 0;
  if (done >= r.maxPerDay) return 'daily_limit';
  const attempt = { id: newId('tup', now.getTime()), day, seq: done + 1, startedAt: now.toISOString() };
  const bal = statement.balance;
  // Claimed only if the balance is still as read: a recharge that landed meanwhile (it bumps the
  // balance's revision) or a second trigger (the settings' revision) makes this claim nothing.
  const claimed = await d.credits.topUps.write([
    ...(bal
      ? [
          {
            ConditionCheck: {
              TableName: d.store.table,
              Key: keys.creditBalance(tenantId),
              ConditionExpression: 'revision = :rev',
              ExpressionAttributeValues: { ':rev': bal.revision },
            },
          },
        ]
      : []),
    ...d.credits.topUps.claimItems(r, attempt),
  ]);
  if (!claimed) return 'raced';
  return charge(d, { ...r, state: 'charging', attempt }, attempt, now);
}

async function charge(
  d: BillingDeps,
  r: AutoRecharge,
  attempt: NonNullable<AutoRecharge['attempt']>,
  now: Date,
): Promise<RechargeOutcome> {
  const tenantId = r.tenantId;
  if (!r.card)
    return finish(d, r, attempt, { status: 'failed', reason: 'No saved card.', paymentId: null }, now);
  const result = await d.gateway.chargeSavedCard({
    customerId: r.card.customerId,
    paymentMethodId: r.card.paymentMethodId,
    tenantId,
    topUpId: attempt.id,
    amountCents: r.amountCents,
    idempotencyKey: rechargeKey(tenantId, attempt.day, attempt.seq),
  });
  if (result.ok) {
    const p = result.payment;
    if (p.status === 'succeeded') {
      await creditPayment(d, tenantId, p);
      return finish(d, r, attempt, { status: 'succeeded', reason: null, paymentId: p.id }, now);
    }
    const reason =
      p.status === 'requires_action'
        ? 'The card needs its holder to confirm the payment, which cannot happen off-session.'
        : (p.failure?.message ?? `The payment is ${p.status}.`);
    return finish(d, r, attempt, { status: 'failed', reason, paymentId: p.id }, now);
  }
  if (result.kind === 'rejected') {
    // A sentence, as every other reason is: the console and the email print it as it is.
    const message = result.message.replace(/\.+$/, '');
    const reason = result.declineCode ? `${message} (${result.declineCode}).` : `${message}.`;
    return finish(
      d,
      r,
      attempt,
      { status: 'failed', reason, paymentId: result.paymentIntentId ?? null },
      now,
    );
  }
  // Stripe did not answer: the attempt stays `charging`, and the next run asks again with the same
  // idempotency key (one charge, whatever happened to this one). Given up after ABANDON_AFTER_MS,
  // before Stripe forgets the key; a charge that did go through is then credited by reconciliation.
  if (now.getTime() - Date.parse(attempt.startedAt) > ABANDON_AFTER_MS) {
    const reason = 'Stripe could not be reached to make the payment.';
    return finish(d, r, attempt, { status: 'failed', reason, paymentId: null }, now);
  }
  d.log.warn({ tenantId, attempt: attempt.id, kind: result.kind }, 'auto-recharge left for the next run');
  return 'pending';
}

async function finish(
  d: BillingDeps,
  r: AutoRecharge,
  attempt: NonNullable<AutoRecharge['attempt']>,
  outcome: { status: 'succeeded' | 'failed'; reason: string | null; paymentId: string | null },
  now: Date,
): Promise<RechargeOutcome> {
  const tenantId = r.tenantId;
  const result: RechargeAttemptResult = {
    id: attempt.id,
    status: outcome.status,
    amountCents: r.amountCents,
    at: now.toISOString(),
    reason: outcome.reason,
    paymentId: outcome.paymentId,
  };
  if (outcome.status === 'failed') {
    await d.credits.topUps.markFailed(tenantId, attempt.id, outcome.reason ?? 'declined', now.toISOString());
  }
  const finished = await d.credits.topUps.finishAttempt(tenantId, attempt.id, result, now);
  if (!finished) return outcome.status; // another run finished it (and sent any notice)
  d.log.info({ tenantId, attempt: attempt.id, status: outcome.status }, 'auto-recharge');
  if (outcome.status === 'failed') {
    const tenant = await d.tenants.get(tenantId);
    if (tenant?.contactEmail) {
      const balance = await d.credits.statement(tenantId, now);
      await d.email
        .send(
          autoRechargeFailedMessage(tenant.contactEmail, {
            tenantName: tenant.name,
            amountUsd: (r.amountCents / 100).toFixed(2),
            reason: outcome.reason ?? 'no reason was given.',
            balanceUsd: centsOf(balance.balanceNanoUsd),
            creditsUrl: creditsReturnUrl(d.config),
          }),
        )
        .catch((err: unknown) => d.log.warn({ err, tenantId }, 'auto-recharge notice not sent'));
    }
  }
  return outcome.status;
}
