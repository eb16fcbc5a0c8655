import type { OpenAPIHono } from '@hono/zod-openapi';
import type { BillingEnv } from '#api/http/env';
import { guardAccount } from '../session';
import { registerCheckout } from './checkout';
import { registerGetBilling } from './get';
import { registerPlanChange } from './plan';
import { registerPortal } from './portal';
import { registerStatement } from './statement';

/** `/account/billing`: plan, cost, invoices and monthly statements; Checkout and the customer portal (owner or billing role). */
export function registerBilling(app: OpenAPIHono<BillingEnv>): void {
  guardAccount(app);
  registerGetBilling(app);
  registerCheckout(app);
  registerPortal(app);
  registerPlanChange(app);
  registerStatement(app);
}
