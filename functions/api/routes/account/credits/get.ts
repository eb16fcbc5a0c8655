import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { CreditsQuery, CreditsSchema, creditsView } from '#api/console/credit-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';

const route = createRoute({
  method: 'get',
  path: '/account/credits',
  tags: ['Limits'],
  summary: 'Your credit: balance by kind, grants, and the ledger (newest first, `cursor` pages on)',
  description:
    'Owners and billing members. A prepaid account is admitted against this balance: a request whose worst case ' +
    'it cannot pay is refused with 429 `insufficient_balance` (`x-should-retry: false`), not billed.',
  security: sessionSecurity,
  middleware: [requirePermission('billing:read')] as const,
  request: { query: CreditsQuery },
  responses: {
    200: { description: 'The credit', content: { 'application/json': { schema: CreditsSchema } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request']),
  },
});

export function registerAccountCredits(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { quotas, now } = c.get('deps');
    return c.json(
      await creditsView(quotas.credits, userSession(c).tenant, now(), c.req.valid('query'), {
        connected: Boolean(c.get('deps').config.STRIPE_SECRET_KEY),
      }),
      200,
    );
  });
}
