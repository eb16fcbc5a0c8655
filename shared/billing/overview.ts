import type { Channel } from '../metering/usage-store';
import type { Plan } from '../quotas/plans';
import type { Tenant } from '../tenants/tenant-store';
import type { BillingStatus, InvoiceSummary } from './billing';
import { type BillingDeps, graceEndsAt } from './billing-deps';
import type { BillingAccount } from './billing-store';
import { type InvoicePreview, monthOf, previewInvoice } from './invoice-preview';

export interface VersionCost {
  model: string;
  version: string;
  /** Online calls and batch lines (at the batch price) are rows of their own. */
  channel: Channel;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  images: number;
  /** Everything used, at list price, before included units are taken out. */
  costNanoUsd: number;
}

export interface BillingOverview {
  connected: boolean;
  plan: Plan | undefined;
  planId: string;
  status: BillingStatus;
  account: BillingAccount | undefined;
  graceEndsAt: string | null;
  month: string;
  runningCost: { totalNanoUsd: number; byVersion: VersionCost[] };
  preview: InvoicePreview;
  /** From the provider; null in ledger-only mode or when the provider did not answer. */
  invoices: InvoiceSummary[] | null;
  invoicesUnavailable: boolean;
}

/**
 * What `GET /account/billing` shows: plan and status, this month's running cost per model version
 * (from the daily aggregates), the invoice the ledger says the month will bring, and past invoices
 * from the provider when there is one.
 */
export async function billingOverview(d: BillingDeps, tenant: Tenant): Promise<BillingOverview> {
  const now = d.now();
  const month = monthOf(now.getTime());
  const [plan, account, catalog] = await Promise.all([
    d.plans.get(tenant.plan),
    d.store.getAccount(tenant.id),
    d.catalog(),
  ]);
  const [daily, preview, invoices] = await Promise.all([
    d.usage.listDaily(tenant.id, `${month}-01`, now.toISOString().slice(0, 10)),
    previewInvoice(
      { usage: d.usage, catalog, modelTimeoutMs: d.config.MODEL_TIMEOUT_MS },
      tenant,
      plan,
      month,
    ),
    account?.customerId && d.gateway.mode === 'stripe'
      ? d.gateway.listInvoices(account.customerId, 12)
      : Promise.resolve(undefined),
  ]);
  const byVersion = new Map<string, VersionCost>();
  let total = 0;
  for (const r of daily) {
    const key = `${r.model}@${r.version}#${r.channel}`;
    const row = byVersion.get(key) ?? {
      model: r.model,
      version: r.version,
      channel: r.channel,
      requests: 0,
      inputTokens: 0,
      outputTokens: 0,
      images: 0,
      costNanoUsd: 0,
    };
    row.requests += r.requests;
    row.inputTokens += r.inputTokens;
    row.outputTokens += r.outputTokens;
    row.images += r.images;
    row.costNanoUsd += r.costNanoUsd;
    total += r.costNanoUsd;
    byVersion.set(key, row);
  }
  const status = account?.status ?? 'none';
  return {
    connected: d.gateway.mode === 'stripe',
    plan,
    planId: tenant.plan,
    status,
    account,
    graceEndsAt:
      status === 'past_due' && account?.pastDueSince
        ? graceEndsAt(account.pastDueSince, d.config.PAST_DUE_GRACE_DAYS).toISOString()
        : null,
    month,
    runningCost: {
      totalNanoUsd: total,
      byVersion: [...byVersion.values()].sort(
        (a, b) =>
          `${a.model}@${a.version}`.localeCompare(`${b.model}@${b.version}`) ||
          (a.channel === b.channel ? 0 : a.channel === 'online' ? -1 : 1),
      ),
    },
    preview,
    invoices: invoices?.ok ? invoices.invoices : null,
    invoicesUnavailable: invoices !== undefined && !invoices.ok,
  };
}
