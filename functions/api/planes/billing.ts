import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/env';
import { registerBilling } from '../routes/account/billing';
import { registerStripeWebhook } from '../routes/webhooks/stripe';

/** The billing plane's routes, the ones that call Stripe: `/account/billing/*` and `/webhooks/stripe`. */
export function registerBillingPlane(app: OpenAPIHono<AppEnv>): void {
  registerBilling(app);
  registerStripeWebhook(app);
}
