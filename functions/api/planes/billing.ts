import { type BillingPlaneDeps, planeRoutes } from '../http/env';
import { registerBilling } from '../routes/account/billing';
import { registerTopUps } from '../routes/account/credits/top-ups';
import { registerAdminFinance } from '../routes/admin/finance';
import { registerStripeWebhook } from '../routes/webhooks/stripe';

/**
 * The billing plane's routes, the ones that call Stripe: `/account/billing/*`, `/account/credits/top-ups`, `/webhooks/stripe`
 * and the operators' `/admin/finance/*`.
 */
export const registerBillingPlane = planeRoutes<BillingPlaneDeps>((app) => {
  registerBilling(app);
  registerTopUps(app);
  registerStripeWebhook(app);
  registerAdminFinance(app);
});
