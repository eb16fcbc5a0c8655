import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { LimitsSchema, limitsView } from '#api/console/limits-view';
import type { ConsoleEnv } from '#api/http/env';
import { FRESHNESS_NOTE, setUsageAsOf, usageAsOfHeaders } from '#api/http/usage-freshness';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';

const route = createRoute({
  method: 'get',
  path: '/account/limits',
  tags: ['Limits'],
  summary: "Your plan's limits, the effective limits, this month's use and its alerts",
  description:
    'Owners and billing members. Per-key limits are on each key (`GET /account/keys`). ' +
    `This month's use: ${FRESHNESS_NOTE}`,
  security: sessionSecurity,
  middleware: [requirePermission('billing:read')] as const,
  responses: {
    200: {
      description: 'The limits',
      headers: usageAsOfHeaders,
      content: { 'application/json': { schema: LimitsSchema } },
    },
    ...errorResponses('console', [...errorsOf.session]),
  },
});

export function registerGetLimits(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const limits = await limitsView(c.get('deps'), userSession(c).tenant);
    setUsageAsOf(c, limits.freshness);
    return c.json(limits, 200);
  });
}
