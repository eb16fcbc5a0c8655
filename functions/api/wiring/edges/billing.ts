import type { BillingGateway } from '#shared/billing/billing';
import { LedgerBillingGateway } from '#shared/billing/ledger-billing';
import { StripeBillingGateway } from '#shared/billing/stripe-billing';
import type { Config } from '#shared/config';

/** Stripe when a secret key is configured; otherwise billing stays in the ledger. Brings the Stripe SDK. */
export function createBillingGateway(config: Config): BillingGateway {
  if (!config.STRIPE_SECRET_KEY) return new LedgerBillingGateway();
  return new StripeBillingGateway({
    secretKey: config.STRIPE_SECRET_KEY,
    webhookSecret: config.STRIPE_WEBHOOK_SECRET,
    apiBase: config.STRIPE_API_BASE,
    timeoutMs: config.STRIPE_TIMEOUT_MS,
    maxNetworkRetries: config.STRIPE_MAX_NETWORK_RETRIES,
    webhookToleranceSeconds: config.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
  });
}
