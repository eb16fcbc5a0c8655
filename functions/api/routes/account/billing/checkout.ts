import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { BillingEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { startCheckout } from '#shared/billing/checkout';
import { ApiError } from '#shared/errors';
import { providerError, SessionUrlResponse } from './schemas';

const route = createRoute({
  method: 'post',
  path: '/account/billing/checkout',
  tags: ['Billing'],
  summary:
    'Upgrade to pay-as-you-go: a Stripe Checkout URL that collects a card and starts the metered subscription',
  security: sessionSecurity,
  middleware: [requirePermission('billing:manage')] as const,
  responses: {
    201: {
      description: 'The Checkout session; send the browser to `url`',
      content: { 'application/json': { schema: SessionUrlResponse } },
    },
    ...errorResponses('console', [
      ...errorsOf.session,
      'conflict',
      'billing_not_connected',
      'billing_unavailable',
    ]),
  },
});

export function registerCheckout(app: OpenAPIHono<BillingEnv>): void {
  app.openapi(route, async (c) => {
    const session = userSession(c);
    const result = await startCheckout(c.get('deps').billing, session.tenant);
    switch (result.status) {
      case 'created':
        return c.json({ object: 'checkout_session' as const, id: result.id, url: result.url }, 201);
      case 'already_subscribed':
        throw new ApiError(
          'conflict',
          'This account already has a subscription; manage cards and invoices at POST /account/billing/portal.',
        );
      case 'not_set_up':
        c.get('log').error(
          { missing: result.missing.slice(0, 10) },
          'Stripe prices missing: run billing:setup',
        );
        throw new ApiError('billing_unavailable', 'Billing is being set up; try again later.', {
          headers: { 'retry-after': '300' },
        });
      case 'failed':
        throw providerError(result);
    }
  });
}
