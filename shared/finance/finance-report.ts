import type { BillingDeps } from '../billing/billing-deps';
import { graceEndsAt } from '../billing/billing-deps';
import type { BillingAccount } from '../billing/billing-store';
import { monthBounds, previewInvoice } from '../billing/invoice-preview';
import { type CreditKind, creditKinds } from '../credits/burn-order';
import type { ByKind, CreditFinance } from './credit-counters';
import type { ProviderCreditNote, ProviderInvoice, ProviderRefund } from './finance-gateway';

/** At most this many objects of each list are read from the provider per report (then `truncated`). */
export const MAX_PROVIDER_OBJECTS = 2_000;
/** In ledger-only mode, at most this many tenant-months of invoice previews per report. */
export const MAX_PREVIEWS = 200;
/** Past-due accounts listed at most. */
export const MAX_PAST_DUE = 500;

const CENT = 10_000_000;
const DAY_MS = 86_400_000;

export interface Receivables {
  /** `stripe_invoices`: the provider's invoices; `invoice_previews`: ledger-only, what the ledger would invoice. */
  source: 'stripe_invoices' | 'invoice_previews';
  invoicedNanoUsd: number;
  collectedNanoUsd: number;
  outstandingNanoUsd: number;
  uncollectibleNanoUsd: number;
  count: number;
  truncated: boolean;
}

export interface PastDueTenant {
  tenantId: string;
  name: string | null;
  since: string;
  daysOverdue: number;
  graceEndsAt: string;
  /** What its open invoices of the range still owe (Stripe), else null. */
  owedNanoUsd: number | null;
}

export interface FinanceReport {
  from: string;
  to: string;
  mode: 'stripe' | 'ledger';
  receivables: Receivables;
  credit: CreditFinance;
  mrr: { month: string; nanoUsd: number; subscriptionsNanoUsd: number; paidCreditNanoUsd: number };
  pastDue: PastDueTenant[];
  refunds: { count: number; nanoUsd: number; truncated: boolean; data: ProviderRefund[] };
  creditNotes: { count: number; nanoUsd: number; truncated: boolean; data: ProviderCreditNote[] };
  /** The provider did not answer (its parts are zero and say so). */
  providerUnavailable: string | null;
}

/** `2026-11` -> the month before (`2026-10`) and after. */
export function shiftMonth(month: string, by: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m - 1 + by, 1)).toISOString().slice(0, 7);
}

export function monthsIn(from: string, to: string): string[] {
  const out: string[] = [];
  for (let m = from; m <= to; m = shiftMonth(m, 1)) out.push(m);
  return out;
}

/** The month MRR is read for: the range's last month if it is over, else the one before it. */
export function mrrMonth(to: string, now: Date): string {
  const current = now.toISOString().slice(0, 7);
  return to < current ? to : shiftMonth(current, -1);
}

const sec = (ms: number) => Math.floor(ms / 1000);
const counted = (i: ProviderInvoice) => i.status !== 'draft' && i.status !== 'void' && i.currency === 'usd';

function fromInvoices(invoices: ProviderInvoice[], truncated: boolean): Receivables {
  const r: Receivables = {
    source: 'stripe_invoices',
    invoicedNanoUsd: 0,
    collectedNanoUsd: 0,
    outstandingNanoUsd: 0,
    uncollectibleNanoUsd: 0,
    count: 0,
    truncated,
  };
  for (const i of invoices.filter(counted)) {
    r.count++;
    r.invoicedNanoUsd += i.totalCents * CENT;
    r.collectedNanoUsd += i.amountPaidCents * CENT;
    if (i.status === 'open') r.outstandingNanoUsd += i.amountRemainingCents * CENT;
    if (i.status === 'uncollectible') r.uncollectibleNanoUsd += i.amountRemainingCents * CENT;
  }
  return r;
}

async function pastDueAccounts(d: BillingDeps): Promise<BillingAccount[]> {
  const out: BillingAccount[] = [];
  for await (const page of d.store.pastDue()) {
    out.push(...page.filter((a) => a.pastDueSince));
    if (out.length >= MAX_PAST_DUE) break;
  }
  return out.slice(0, MAX_PAST_DUE);
}

/**
 * The ledger-only stand-in for invoices: each postpaid tenant's invoice preview (usage beyond its
 * plan's included units, at list prices, rounded per line to the cent as an invoice would be) for
 * every month of the range it had usage in (the usage aggregates say which), at most MAX_PREVIEWS.
 * Nothing is sent or collected without a provider, so it is all outstanding.
 */
async function previewReceivables(
  d: BillingDeps,
  months: string[],
): Promise<{ receivables: Receivables; byMonth: Map<string, number> }> {
  const catalog = await d.catalog();
  const byMonth = new Map<string, number>();
  let count = 0;
  let total = 0;
  let truncated = false;
  for (const month of months) {
    const active = await d.platformUsage.tenantsInMonth(month);
    for (const t of active.sort((a, b) => a.tenantId.localeCompare(b.tenantId))) {
      if (count >= MAX_PREVIEWS) {
        truncated = true;
        break;
      }
      const tenant = await d.tenants.get(t.tenantId);
      if (!tenant || tenant.billingMode === 'prepaid') continue;
      count++;
      const preview = await previewInvoice(
        { usage: d.usage, catalog, modelTimeoutMs: d.config.MODEL_TIMEOUT_MS },
        tenant,
        await d.plans.get(tenant.plan),
        month,
      );
      const nano = preview.totalCents * CENT;
      total += nano;
      byMonth.set(month, (byMonth.get(month) ?? 0) + nano);
    }
  }
  return {
    receivables: {
      source: 'invoice_previews',
      invoicedNanoUsd: total,
      collectedNanoUsd: 0,
      outstandingNanoUsd: total,
      uncollectibleNanoUsd: 0,
      count,
      truncated,
    },
    byMonth,
  };
}

/**
 * The operators' finance report for the months [from, to]: receivables (the provider's invoices
 * created in the range, or in ledger-only mode the invoice previews), the credit ledger's flows and
 * what is outstanding at the range's end (from the monthly totals), MRR, past-due tenants now, and
 * the refunds and credit notes created in the range. Every read is bounded (see the MAX_ constants).
 */
export async function financeReport(d: BillingDeps, from: string, to: string): Promise<FinanceReport> {
  const now = d.now();
  const range = { fromSec: sec(monthBounds(from).start), toSec: sec(monthBounds(to).end) };
  const mrrOf = mrrMonth(to, now);
  const stripe = d.gateway.mode === 'stripe';
  const creditRead = d.finance.credit(from, to);
  const mrrCreditRead = mrrOf >= from && mrrOf <= to ? creditRead : d.finance.credit(mrrOf, mrrOf);
  const [credit, mrrCredit, accounts] = await Promise.all([creditRead, mrrCreditRead, pastDueAccounts(d)]);

  let receivables: Receivables;
  let subscriptionsNanoUsd = 0;
  let providerUnavailable: string | null = null;
  const refunds = { count: 0, nanoUsd: 0, truncated: false, data: [] as ProviderRefund[] };
  const creditNotes = { count: 0, nanoUsd: 0, truncated: false, data: [] as ProviderCreditNote[] };
  const owed = new Map<string, number>();
  if (stripe) {
    // The invoice for a month's usage is made at the month's end: MRR reads the invoices created
    // from the start of its month to a week after it, and counts the subscriptions' whose period
    // starts in it.
    const mrrRange = {
      fromSec: sec(monthBounds(mrrOf).start),
      toSec: sec(monthBounds(mrrOf).end + 7 * DAY_MS),
    };
    const [inv, ref, notes, mrrInv] = await Promise.all([
      d.gateway.listInvoicesCreated(range, MAX_PROVIDER_OBJECTS),
      d.gateway.listRefundsCreated(range, MAX_PROVIDER_OBJECTS),
      d.gateway.listCreditNotesCreated(range, MAX_PROVIDER_OBJECTS),
      d.gateway.listInvoicesCreated(mrrRange, MAX_PROVIDER_OBJECTS),
    ]);
    receivables = fromInvoices(inv.ok ? inv.invoices : [], inv.ok ? inv.truncated : false);
    if (inv.ok) {
      for (const i of inv.invoices.filter((x) => x.status === 'open'))
        owed.set(i.customerId, (owed.get(i.customerId) ?? 0) + i.amountRemainingCents * CENT);
    }
    if (ref.ok) {
      const live = ref.refunds.filter((r) => r.status !== 'failed' && r.status !== 'canceled');
      Object.assign(refunds, {
        count: live.length,
        nanoUsd: live.reduce((s, r) => s + r.amountCents * CENT, 0),
        truncated: ref.truncated,
        data: ref.refunds,
      });
    }
    if (notes.ok) {
      const issued = notes.creditNotes.filter((n) => n.status !== 'void');
      Object.assign(creditNotes, {
        count: issued.length,
        nanoUsd: issued.reduce((s, n) => s + n.totalCents * CENT, 0),
        truncated: notes.truncated,
        data: notes.creditNotes,
      });
    }
    if (mrrInv.ok) {
      subscriptionsNanoUsd = mrrInv.invoices
        .filter((i) => counted(i) && i.fromSubscription && i.periodStart.slice(0, 7) === mrrOf)
        .reduce((s, i) => s + i.totalCents * CENT, 0);
    }
    const failed = [inv, ref, notes, mrrInv].find((r) => !r.ok);
    if (failed && !failed.ok) providerUnavailable = 'message' in failed ? failed.message : failed.kind;
  } else {
    const months = monthsIn(from, to);
    const { receivables: r, byMonth } = await previewReceivables(
      d,
      months.includes(mrrOf) ? months : [...months, mrrOf],
    );
    // The MRR month's previews were read with the range's when it lies outside it: take them out.
    const outside = months.includes(mrrOf) ? 0 : (byMonth.get(mrrOf) ?? 0);
    receivables = {
      ...r,
      invoicedNanoUsd: r.invoicedNanoUsd - outside,
      outstandingNanoUsd: r.outstandingNanoUsd - outside,
    };
    subscriptionsNanoUsd = byMonth.get(mrrOf) ?? 0;
  }

  const paidCreditNanoUsd = mrrCredit.paidUsedByMonth.get(mrrOf) ?? 0;
  const tenants = await Promise.all(accounts.map((a) => d.tenants.get(a.tenantId)));
  const pastDue: PastDueTenant[] = accounts
    .map((a, i) => ({
      tenantId: a.tenantId,
      name: tenants[i]?.name ?? null,
      since: a.pastDueSince!,
      daysOverdue: Math.max(0, Math.floor((now.getTime() - Date.parse(a.pastDueSince!)) / DAY_MS)),
      graceEndsAt: graceEndsAt(a.pastDueSince!, d.config.PAST_DUE_GRACE_DAYS).toISOString(),
      owedNanoUsd: stripe && a.customerId ? (owed.get(a.customerId) ?? 0) : null,
    }))
    .sort((a, b) => b.daysOverdue - a.daysOverdue || a.tenantId.localeCompare(b.tenantId));

  return {
    from,
    to,
    mode: stripe ? 'stripe' : 'ledger',
    receivables,
    credit,
    mrr: {
      month: mrrOf,
      nanoUsd: subscriptionsNanoUsd + paidCreditNanoUsd,
      subscriptionsNanoUsd,
      paidCreditNanoUsd,
    },
    pastDue,
    refunds,
    creditNotes,
    providerUnavailable,
  };
}

export const totalOf = (b: ByKind) => creditKinds.reduce((s, k: CreditKind) => s + b[k], 0);
