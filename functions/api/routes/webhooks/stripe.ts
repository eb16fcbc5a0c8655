import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { BillingEnv } from '#api/http/env';
import { handleWebhook } from '#shared/billing/webhooks';
import { ApiError } from '#shared/errors';
import { errorResponses } from '../../spec/answers';

const Received = z
  .object({
    received: z.literal(true),
    duplicate: z.boolean(),
    outcome: z.string().nullable().openapi({ description: 'What the event did (`past_due`, `stale`, ...).' }),
  })
  .openapi('WebhookReceived');

const route = createRoute({
  method: 'post',
  path: '/webhooks/stripe',
  tags: ['Billing'],
  summary: "Stripe's events (Checkout completed, invoices paid or failed, subscriptions changed)",
  description:
    'Called by Stripe, not by people. The `Stripe-Signature` header is verified on the raw body with the ' +
    'endpoint signing secret (STRIPE_WEBHOOK_SECRET); a bad signature or a timestamp older than ' +
    'STRIPE_WEBHOOK_TOLERANCE_SECONDS is refused and changes nothing. Each event id is applied once.',
  request: {
    headers: z.object({
      'stripe-signature': z.string().min(1).max(2048).openapi({ example: 't=1700000000,v1=5257a8...' }),
    }),
  },
  responses: {
    200: { description: 'Received', content: { 'application/json': { schema: Received } } },
    ...errorResponses('public', [
      'invalid_request',
      'request_too_large',
      'invalid_signature',
      'billing_not_connected',
      'store_unavailable',
    ]),
  },
});

/** `POST /webhooks/stripe`: outside every session and key check; the signature is the authentication. */
export function registerStripeWebhook(app: OpenAPIHono<BillingEnv>): void {
  app.openapi(route, async (c) => {
    // The raw body, before anything parses it: the signature is over these exact bytes.
    const raw = await c.req.text();
    const signature = c.req.valid('header')['stripe-signature'];
    const result = await handleWebhook(c.get('deps').billing, raw, signature);
    if (result.status === 'rejected') {
      if (result.reason === 'not_connected') {
        throw new ApiError('billing_not_connected', 'Stripe webhooks are not configured on this platform.');
      }
      const why = {
        bad_signature: 'The Stripe-Signature does not match this body and the endpoint secret.',
        too_old: 'The signed timestamp is too old (a replay?).',
        malformed: 'The body is not a Stripe event.',
      }[result.reason];
      c.get('log').warn({ reason: result.reason }, 'Stripe webhook refused');
      throw new ApiError('invalid_signature', why, { param: 'Stripe-Signature' });
    }
    return c.json(
      {
        received: true as const,
        duplicate: result.status === 'duplicate',
        outcome: result.status === 'processed' ? result.outcome : null,
      },
      200,
    );
  });
}
