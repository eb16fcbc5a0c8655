import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { BillingEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { openPortal } from '#shared/billing/checkout';
import { providerError, SessionUrlResponse } from './schemas';

const route = createRoute({
  method: 'post',
  path: '/account/billing/portal',
  tags: ['Billing'],
  summary: 'A Stripe customer-portal URL: invoices, cards, the subscription',
  security: sessionSecurity,
  middleware: [requirePermission('billing:manage')] as const,
  responses: {
    201: {
      description: 'The portal session; send the browser to `url`',
      content: { 'application/json': { schema: SessionUrlResponse } },
    },
    ...errorResponses('console', [...errorsOf.session, 'billing_not_connected', 'billing_unavailable']),
  },
});

export function registerPortal(app: OpenAPIHono<BillingEnv>): void {
  app.openapi(route, async (c) => {
    const result = await openPortal(c.get('deps').billing, userSession(c).tenant);
    if (result.status === 'failed') throw providerError(result);
    return c.json({ object: 'portal_session' as const, url: result.url }, 201);
  });
}
