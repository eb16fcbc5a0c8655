import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { UsageQuery, usageOk, usageReport } from '#api/console/usage-report';
import type { ConsoleEnv } from '#api/http/env';
import { FRESHNESS_NOTE } from '#api/http/usage-freshness';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';

const route = createRoute({
  method: 'get',
  path: '/account/usage',
  tags: ['Usage'],
  summary: "Your tenant's usage and cost per day, model version and key (JSON or CSV)",
  description:
    'Owners and billing members. Filter by `model` (or `model@version`), `key_id` and `project_id` (unknown: 404); ' +
    "each row names its key's project, and `totals_by_project` groups the rows by project; " +
    '`?format=csv` or `Accept: text/csv` answers a CSV file (RFC 4180, a header row). ' +
    FRESHNESS_NOTE,
  security: sessionSecurity,
  middleware: [requirePermission('billing:read')] as const,
  request: { query: UsageQuery },
  responses: {
    200: usageOk,
    ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found']),
  },
});

export function registerAccountUsage(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const session = userSession(c);
    return usageReport(c, session.tenantId, c.req.valid('query'), {
      projects: c.get('deps').accounts.projects,
      tenantCreatedAt: session.tenant.createdAt,
    });
  });
}
