import type { OpenAPIHono } from '@hono/zod-openapi';
import type { BillingEnv } from '#api/http/env';
import { guardAdmin } from '../guard';
import { registerFinanceGet } from './get';
import { registerFinanceIssue } from './issue';

/**
 * `/admin/finance/*`: the operators' finance page, refunds and credit notes. On the billing plane,
 * the one that holds the Stripe key; behind an operator's session like every `/admin` route.
 */
export function registerAdminFinance(app: OpenAPIHono<BillingEnv>): void {
  guardAdmin(app);
  registerFinanceGet(app);
  registerFinanceIssue(app);
}
