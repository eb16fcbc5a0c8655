import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { UsageQuery, usageOk, usageReport } from '#api/console/usage-report';
import type { DataEnv } from '#api/http/env';
import { FRESHNESS_NOTE } from '#api/http/usage-freshness';
import { errorResponses, errorsOf, v1Ok } from '#api/spec/answers';

const route = createRoute({
  method: 'get',
  path: '/v1/usage',
  tags: ['Usage'],
  summary: "Your tenant's usage and cost per day, model version and key",
  description:
    'Filter by `model` (or `model@version`), `key_id` and `channel` (`online` or `batch`: each row says which). `?format=csv` or `Accept: text/csv` answers a CSV file. ' +
    FRESHNESS_NOTE,
  security: [{ apiKey: ['usage:read'] }],
  request: { query: UsageQuery },
  responses: {
    200: v1Ok(usageOk),
    ...errorResponses('v1', [...errorsOf.apiKey, 'invalid_request']),
  },
});

export function registerUsageList(app: OpenAPIHono<DataEnv>): void {
  app.openapi(route, async (c) => usageReport(c, c.get('principal').tenantId, c.req.valid('query')));
}
