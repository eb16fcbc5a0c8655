import type { AuditLog } from '../accounts/audit-log';
import type { Catalog } from '../catalog/types';
import type { Config } from '../config';
import type { CreditStore } from '../credits/credit-store';
import type { EmailSender } from '../email/email-sender';
import type { FinanceStore } from '../finance/finance-store';
import type { Logger } from '../logger';
import type { PlatformUsageStore } from '../metering/platform-usage';
import type { UsageStore } from '../metering/usage-store';
import type { PlanStore } from '../quotas/plan-store';
import type { TenantStore } from '../tenants/tenant-store';
import type { BillingGateway } from './billing';
import type { BillingStore } from './billing-store';

/** What billing needs: the provider port, its own store, the ledger, and the account pieces it moves. */
export interface BillingDeps {
  config: Config;
  gateway: BillingGateway;
  store: BillingStore;
  tenants: TenantStore;
  plans: PlanStore;
  usage: UsageStore;
  /** Usage across tenants (the finance page's ledger-only stand-in reads which tenants were active). */
  platformUsage: PlatformUsageStore;
  /** The operators' finance totals and the refunds and credit notes they issued. */
  finance: FinanceStore;
  /** Prepaid credit: top-ups and auto-recharges are credited here. */
  credits: CreditStore;
  /** The model catalog (cached by the resolver). */
  catalog: () => Promise<Catalog>;
  audit: AuditLog;
  email: EmailSender;
  /** Drops a tenant from this instance's API-key cache after its status changed. */
  forgetTenant: (tenantId: string) => void;
  log: Logger;
  now: () => Date;
}

/** The plan a tenant moves to when its subscription starts, and back from when it ends. */
export const PAID_PLAN = 'payg';
export const FREE_PLAN = 'free';

/** Where Checkout and the customer portal send the browser back to. */
export function billingReturnUrl(config: Config): string {
  return config.BILLING_RETURN_URL ?? new URL('/billing', config.PUBLIC_URL).toString();
}

/** The console's plan comparison, where an owner upgrades: what a free tenant's quota refusal names. */
export function plansUrl(config: Pick<Config, 'PUBLIC_URL'>): string {
  return new URL('/plans', config.PUBLIC_URL).toString();
}

/** The console's Credits page, where a top-up's Checkout returns (beside the billing page). */
export function creditsReturnUrl(config: Config): string {
  return new URL('/credits', billingReturnUrl(config)).toString();
}

/** The end of a tenant's grace period after a failed payment. */
export function graceEndsAt(pastDueSince: string, graceDays: number): Date {
  return new Date(Date.parse(pastDueSince) + graceDays * 86_400_000);
}
