import { type BillingPlaneDeps, planeRoutes } from '../http/env';
import { registerBilling } from '../routes/account/billing';
import { registerStripeWebhook } from '../routes/webhooks/stripe';

/** The billing plane's routes, the ones that call Stripe: `/account/billing/*` and `/webhooks/stripe`. */
export const registerBillingPlane = planeRoutes<BillingPlaneDeps>((app) => {
  registerBilling(app);
  registerStripeWebhook(app);
});
