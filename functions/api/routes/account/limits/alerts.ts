import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { AlertSchema, alertView } from '#api/console/limits-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';

const Query = z.object({
  month: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month as YYYY-MM')
    .optional()
    .openapi({ description: 'One month’s alerts; default: the newest 100 of any month.' }),
});

const AlertList = z
  .object({ object: z.literal('list'), data: z.array(AlertSchema) })
  .openapi('UsageAlertList');

const route = createRoute({
  method: 'get',
  path: '/account/alerts',
  tags: ['Limits'],
  summary: 'Usage alerts: 50, 80 and 100% of the spend cap and of the included units, newest first',
  description:
    'Each is raised once per month and emailed to the account contact. 100% also means a request was refused by that limit.',
  security: sessionSecurity,
  middleware: [requirePermission('billing:read')] as const,
  request: { query: Query },
  responses: {
    200: { description: 'Alerts', content: { 'application/json': { schema: AlertList } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request']),
  },
});

export function registerListAlerts(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { month } = c.req.valid('query');
    const alerts = await c.get('deps').alertStore.list(userSession(c).tenantId, { month });
    return c.json({ object: 'list' as const, data: alerts.map(alertView) }, 200);
  });
}
