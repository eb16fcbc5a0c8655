import type { AuditActor } from '../accounts/audit-log';
import type { GrantPayment } from '../credits/burn-order';
import { PAID_CREDIT_DAYS } from '../credits/top-up-store';
import type { TransactItem } from '../db/transact';
import { encodeTime, newId } from '../ids';
import type { Tenant } from '../tenants/tenant-store';
import type { BillingEvent, GatewayFailure, PaymentSummary } from './billing';
import { type BillingDeps, creditsReturnUrl } from './billing-deps';
import { ensureCustomer } from './checkout';

/**
 * Buying credit: top-ups through Stripe Checkout, and crediting each payment exactly once.
 *
 * A payment's credit is a `paid` grant whose id is derived from the payment's id (`paymentGrantId`),
 * written with a condition that it does not exist yet, in one transaction with the webhook event's
 * marker, the top-up's record and the saved card. So whichever of `checkout.session.completed`,
 * `payment_intent.succeeded`, the reconciliation or the auto-recharge job gets there first credits
 * it, and every later one finds the grant and changes nothing. What is credited is what Stripe says
 * of the payment when asked (`getTopUpPayment`), never the event's payload alone.
 */

const NANO_PER_CENT = 10_000_000;
const STRIPE: AuditActor = { kind: 'system', id: 'stripe' };

/** The grant a payment buys: time-ordered like every grant id, and the same every time it is asked. */
export function paymentGrantId(payment: { id: string; created: number }): string {
  return `crg_${encodeTime(payment.created * 1000)}_${payment.id}`;
}

export type TopUpStart =
  | { status: 'created'; id: string; url: string; topUpId: string }
  | ({ status: 'failed' } & GatewayFailure);

/** A Checkout session for a one-time payment of credit; the browser goes to `url`. */
export async function startTopUp(
  d: BillingDeps,
  tenant: Tenant,
  input: { amountCents: number; saveCard: boolean },
): Promise<TopUpStart> {
  if (d.gateway.mode === 'ledger') return { status: 'failed', kind: 'not_connected' };
  const customer = await ensureCustomer(d, tenant);
  if (!customer.ok) return { status: 'failed', ...customer };
  const now = d.now();
  const topUpId = newId('tup', now.getTime());
  const back = creditsReturnUrl(d.config);
  const session = await d.gateway.createPaymentCheckout({
    customerId: customer.customerId,
    tenantId: tenant.id,
    topUpId,
    amountCents: input.amountCents,
    saveCard: input.saveCard,
    successUrl: `${back}?top_up=success`,
    cancelUrl: `${back}?top_up=canceled`,
    idempotencyKey: `tollgate-top-up-${topUpId}`,
  });
  if (!session.ok) return { status: 'failed', ...session };
  await d.credits.topUps.create({
    id: topUpId,
    tenantId: tenant.id,
    purpose: 'top_up',
    amountCents: input.amountCents,
    createdAt: now.toISOString(),
    sessionId: session.id,
    saveCard: input.saveCard,
  });
  return { status: 'created', id: session.id, url: session.url, topUpId };
}

export type CreditOutcome =
  | 'credited'
  | 'already_credited'
  | 'duplicate'
  | 'not_paid'
  | 'not_ours'
  | 'unknown_tenant';

/**
 * Credits a succeeded payment of `tenantId` once. `event` (a webhook's) is marked processed in the
 * same transaction; when the payment was credited before, the event is marked on its own.
 */
export async function creditPayment(
  d: BillingDeps,
  tenantId: string,
  payment: PaymentSummary,
  event?: BillingEvent,
): Promise<CreditOutcome> {
  if (payment.status !== 'succeeded') return 'not_paid';
  if (
    !payment.purpose ||
    payment.tenantId !== tenantId ||
    payment.currency !== 'usd' ||
    !Number.isSafeInteger(payment.amountCents) ||
    payment.amountCents <= 0
  ) {
    d.log.warn(
      { tenantId, paymentId: payment.id, purpose: payment.purpose, currency: payment.currency },
      'a payment that is not a Tollgate credit purchase of this tenant was not credited',
    );
    return 'not_ours';
  }
  const now = d.now();
  const grantId = paymentGrantId(payment);
  const paidAt = new Date(payment.created * 1000);
  const expiresAt = new Date(paidAt.getTime() + PAID_CREDIT_DAYS * 86_400_000).toISOString();
  const alongside: TransactItem[] = [];
  const outcome = event ? 'credited' : 'reconciled';
  if (event) alongside.push(d.store.eventMarkerItem(tenantId, event, outcome, now));
  if (payment.topUpId) {
    alongside.push(
      d.credits.topUps.paidItem(
        tenantId,
        {
          id: payment.topUpId,
          purpose: payment.purpose,
          amountCents: payment.amountCents,
          paymentId: payment.id,
          grantId,
        },
        now.toISOString(),
      ),
    );
  }
  if (payment.cardSaved && payment.paymentMethodId && payment.customerId) {
    alongside.push(
      d.credits.topUps.saveCardItem(tenantId, {
        paymentMethodId: payment.paymentMethodId,
        customerId: payment.customerId,
        brand: payment.card?.brand ?? 'card',
        last4: payment.card?.last4 ?? '',
        savedAt: paidAt.toISOString(),
      }),
    );
  }
  const grantPayment: GrantPayment = {
    provider: 'stripe',
    paymentId: payment.id,
    purpose: payment.purpose,
    amountCents: payment.amountCents,
    currency: payment.currency,
    receiptUrl: payment.receiptUrl,
    card: payment.card,
    paidAt: paidAt.toISOString(),
  };
  const out = await d.credits.grantOnce(
    {
      tenantId,
      id: grantId,
      kind: 'paid',
      amountNanoUsd: payment.amountCents * NANO_PER_CENT,
      expiresAt,
      note: payment.purpose === 'top_up' ? 'Top-up' : 'Auto-recharge',
      actor: STRIPE,
      requestId: null,
      payment: grantPayment,
      alongside,
    },
    now,
  );
  switch (out.status) {
    case 'granted':
      d.log.info(
        { tenantId, paymentId: payment.id, grantId, via: event?.id ?? 'reconciliation' },
        'payment credited',
      );
      d.forgetTenant(tenantId);
      return 'credited';
    case 'not_found':
      return 'unknown_tenant';
    case 'alongside_failed':
      // The event's marker (the first item alongside) was there: the event was processed before.
      if (event && out.index === 0) return 'duplicate';
      throw new Error(`crediting ${payment.id} failed on a write alongside it (${out.index})`);
    case 'exists':
      if (event) {
        const marked = await d.store.transact([
          d.store.eventMarkerItem(tenantId, event, 'already_credited', now),
        ]);
        if (!marked.ok) return 'duplicate';
      }
      return 'already_credited';
  }
}

export type PaymentEventOutcome = CreditOutcome | 'failure_recorded' | 'unknown_payment';

/**
 * A verified payment event of `tenantId`: a success is credited from the payment as Stripe has it
 * now (so an event that arrives late, twice or out of order credits nothing twice, and a success
 * after a failure still credits); a failure is recorded on its top-up unless the payment went
 * through after all. A provider that cannot be reached throws: the webhook answers 5xx and
 * Stripe delivers the event again.
 */
export async function handlePaymentEvent(
  d: BillingDeps,
  tenantId: string,
  event: Extract<BillingEvent, { type: 'payment.succeeded' | 'payment.failed' }>,
): Promise<PaymentEventOutcome> {
  const now = d.now();
  const mark = async (outcome: string) => {
    const marked = await d.store.transact([d.store.eventMarkerItem(tenantId, event, outcome, now)]);
    return marked.ok;
  };
  let payment: PaymentSummary | undefined;
  if (event.paymentId) {
    const got = await d.gateway.getTopUpPayment(event.paymentId);
    if (!got.ok) {
      if (got.kind !== 'rejected') throw new Error(`Stripe payment ${event.paymentId} not read: ${got.kind}`);
      return (await mark('unknown_payment')) ? 'unknown_payment' : 'duplicate';
    }
    payment = got.payment;
  }
  if (event.type === 'payment.succeeded') return creditPayment(d, tenantId, payment!, event);
  if (payment?.status === 'succeeded') return creditPayment(d, tenantId, payment, event);
  const topUpId = event.topUpId ?? payment?.topUpId ?? null;
  if (!(await mark('payment_failed'))) return 'duplicate';
  if (topUpId) {
    await d.credits.topUps.markFailed(
      tenantId,
      topUpId,
      payment?.failure?.message ?? event.reason,
      now.toISOString(),
    );
  }
  d.log.warn({ tenantId, paymentId: event.paymentId, topUpId }, 'a credit payment failed');
  return 'failure_recorded';
}

export interface ReconcileReport {
  /** Tollgate payments that succeeded in the window. */
  checked: number;
  /** Of them, credited now (their webhook never came, or came before a crash). */
  credited: number;
  pages: number;
  complete: boolean;
}

/** How far back reconciliation looks: Stripe retries a webhook for 3 days, this covers them and more. */
export const RECONCILE_WINDOW_HOURS = 96;
const RECONCILE_MAX_PAGES = 20;

/**
 * Heals a crash between Stripe's charge and the credit: lists the payments of the last
 * `RECONCILE_WINDOW_HOURS` from Stripe (100 a page, at most 20 pages a run, until the deadline)
 * and credits each succeeded Tollgate payment that has no grant, through `creditPayment` (so a
 * webhook racing it, or a second run, credits nothing twice). A payment whose customer is not the
 * tenant its metadata names is not credited.
 */
export async function reconcilePayments(
  d: BillingDeps,
  now: Date,
  opts: { deadlineMs?: number; clock?: () => number } = {},
): Promise<ReconcileReport> {
  const report: ReconcileReport = { checked: 0, credited: 0, pages: 0, complete: true };
  if (d.gateway.mode === 'ledger') return report;
  const clock = opts.clock ?? Date.now;
  const createdFrom = Math.floor(now.getTime() / 1000) - RECONCILE_WINDOW_HOURS * 3600;
  let after: string | undefined;
  for (;;) {
    if (
      report.pages >= RECONCILE_MAX_PAGES ||
      (opts.deadlineMs !== undefined && clock() >= opts.deadlineMs)
    ) {
      report.complete = false;
      return report;
    }
    const page = await d.gateway.listPayments({
      createdFrom,
      limit: 100,
      ...(after ? { startingAfter: after } : {}),
    });
    if (!page.ok) throw new Error(`Stripe payments not listed: ${page.kind}`);
    report.pages++;
    for (const p of page.payments) {
      if (p.status !== 'succeeded' || !p.purpose || !p.tenantId || !p.customerId) continue;
      report.checked++;
      if (await d.credits.getGrant(p.tenantId, paymentGrantId(p))) continue;
      const owner = await d.store.tenantOfCustomer(p.customerId);
      if (owner !== p.tenantId) {
        d.log.warn({ paymentId: p.id }, 'a payment whose customer is not its tenant was not reconciled');
        continue;
      }
      if ((await creditPayment(d, p.tenantId, p)) === 'credited') {
        report.credited++;
        d.log.warn(
          { tenantId: p.tenantId, paymentId: p.id },
          'a payment without its credit was credited by reconciliation',
        );
      }
    }
    if (!page.hasMore || page.payments.length === 0) return report;
    after = page.payments.at(-1)!.id;
  }
}
