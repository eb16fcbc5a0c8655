import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { UsageQuery, usageOk, usageReport } from '#api/console/usage-report';
import type { ConsoleEnv } from '#api/http/env';
import { FRESHNESS_NOTE } from '#api/http/usage-freshness';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { isId } from '#shared/ids';
import { TenantId, tenantNotFound } from './get';

const route = createRoute({
  method: 'get',
  path: '/admin/tenants/{tenant_id}/usage',
  tags: ['Admin'],
  summary: "One tenant's usage and cost per day, model version and key (JSON or CSV)",
  description:
    'The report a tenant sees at `GET /account/usage`, for operators: same query, same shape. ' +
    'Reads are not audited (as `GET /admin/tenants/{tenant_id}`). ' +
    FRESHNESS_NOTE,
  security: sessionSecurity,
  request: { params: TenantId, query: UsageQuery },
  responses: {
    200: usageOk,
    ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found']),
  },
});

export function registerTenantUsage(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { tenant_id: id } = c.req.valid('param');
    // An unknown tenant is a 404 rather than an empty report, so a typo is not read as "no use".
    const tenant = isId(id, 'ten') ? await c.get('deps').accounts.tenants.get(id) : undefined;
    if (!tenant) throw tenantNotFound(id);
    return usageReport(c, tenant.id, c.req.valid('query'), {
      projects: c.get('deps').accounts.projects,
      tenantCreatedAt: tenant.createdAt,
    });
  });
}
