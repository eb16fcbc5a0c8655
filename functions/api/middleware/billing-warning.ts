import { createMiddleware } from 'hono/factory';
import { graceEndsAt } from '#shared/billing/billing-deps';
import type { DataEnv } from '../http/env';

/** The header a past-due tenant's answers carry while its grace period runs. */
export const BILLING_WARNING_HEADER = 'x-tollgate-warning';

/**
 * Behind `apiKeyAuth`: while a tenant's payment is past due its keys keep working, and every
 * answer says so (with the date they stop), so the developer hears it from their own client.
 */
export function billingWarning() {
  return createMiddleware<DataEnv>(async (c, next) => {
    await next();
    const tenant = c.get('principal')?.tenant;
    if (tenant?.status !== 'past_due') return;
    const { config } = c.get('deps');
    const until = tenant.pastDueSince
      ? ` until ${graceEndsAt(tenant.pastDueSince, config.PAST_DUE_GRACE_DAYS).toISOString()}`
      : '';
    c.res.headers.set(
      BILLING_WARNING_HEADER,
      `payment past due: API access continues${until}, then stops until the invoice is paid (see /account/billing)`,
    );
  });
}
