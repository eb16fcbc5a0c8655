import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionErrorResponses, sessionSecurity } from '../../../account-schemas';
import type { AppEnv } from '../../../env';
import { LimitsSchema, limitsView } from '../../../limits-view';
import { requirePermission, userSession } from '../../../middleware/require-role';

const route = createRoute({
  method: 'get',
  path: '/account/limits',
  tags: ['Limits'],
  summary: "Your plan's limits, the effective limits, this month's use and its alerts",
  description: 'Owners and billing members. Per-key limits are on each key (`GET /account/keys`).',
  security: sessionSecurity,
  middleware: [requirePermission('billing:read')] as const,
  responses: {
    200: { description: 'The limits', content: { 'application/json': { schema: LimitsSchema } } },
    ...sessionErrorResponses,
  },
});

export function registerGetLimits(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => c.json(await limitsView(c.get('deps'), userSession(c).tenant), 200));
}
