import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { CentsInput, toCents } from '#api/console/credit-schemas';
import type { BillingEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { startTopUp } from '#shared/billing/top-ups';
import { ApiError } from '#shared/errors';
import { providerError } from '../billing/schemas';

const TopUpRequest = z
  .object({
    amount_usd: CentsInput,
    currency: z
      .string()
      .optional()
      .refine((v) => v === undefined || v.toLowerCase() === 'usd', {
        message: 'must be usd: credit is sold and kept in USD',
      })
      .openapi({ example: 'usd' }),
    save_card: z.boolean().optional().openapi({
      description:
        'Keep the card for auto-recharge (it becomes the card auto-recharge charges). Default false.',
    }),
  })
  .strict()
  .openapi('TopUpRequest');

const TopUpSession = z
  .object({
    object: z.literal('checkout_session'),
    id: z.string().openapi({ example: 'cs_test_a1b2c3' }),
    url: z.string().openapi({ description: "Stripe's hosted Checkout page: send the browser there." }),
    top_up_id: z.string().openapi({ example: 'tup_01M885NG1ACXMCH87B3XRQVEKV' }),
  })
  .openapi('TopUpSession');

const route = createRoute({
  method: 'post',
  path: '/account/credits/top-ups',
  tags: ['Billing'],
  summary: 'Buy credit: a Stripe Checkout URL for a one-time payment ("Tollgate credit")',
  description:
    'Owners and billing members. `amount_usd` is US dollars as a decimal string (or number) with at most 2 decimal ' +
    'places, from 5.00 to 5000.00. Once Stripe confirms the payment, the amount is credited once as a `paid` grant ' +
    'expiring 365 days after the payment. With `save_card`, the card is kept for auto-recharge. Without Stripe ' +
    '(ledger-only), 409 `billing_not_connected`: an operator grants credit.',
  security: sessionSecurity,
  middleware: [requirePermission('billing:manage')] as const,
  request: { body: { required: true, content: { 'application/json': { schema: TopUpRequest } } } },
  responses: {
    201: {
      description: 'The Checkout session; send the browser to `url`',
      content: { 'application/json': { schema: TopUpSession } },
    },
    ...errorResponses('console', [
      ...errorsOf.session,
      ...errorsOf.jsonBody,
      'billing_not_connected',
      'billing_unavailable',
    ]),
  },
});

export function registerTopUps(app: OpenAPIHono<BillingEnv>): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const session = userSession(c);
    const result = await startTopUp(c.get('deps').billing, session.tenant, {
      amountCents: toCents(body.amount_usd),
      saveCard: body.save_card ?? false,
    });
    if (result.status === 'created') {
      return c.json(
        { object: 'checkout_session' as const, id: result.id, url: result.url, top_up_id: result.topUpId },
        201,
      );
    }
    if (result.kind === 'not_connected') {
      throw new ApiError(
        'billing_not_connected',
        'Card payments are not connected on this platform (no Stripe key): credit is granted by an operator. Ask your platform operator for credit.',
      );
    }
    throw providerError(result);
  });
}
