import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import {
  AuditEntrySchema,
  AuditQuery,
  auditCsv,
  auditListSchema,
  auditOk,
  auditRequest,
  badCursor,
  operatorEntries,
} from '#api/console/audit-view';
import type { ConsoleEnv } from '#api/http/env';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { isId } from '#shared/ids';

const AuditList = auditListSchema(AuditEntrySchema, 'AuditList');

const route = createRoute({
  method: 'get',
  path: '/admin/audit',
  tags: ['Admin'],
  summary: 'The audit log, newest first: who, what, when, before and after; filtered, JSON or CSV',
  description:
    'Every entry: operators’ actions, the platform’s, and tenants’ members’ changes in their accounts. ' +
    'Filter by `action` (or `api_key.*`), `actor` (id, email or kind), `tenant_id`, `target_type` and time; ' +
    'a filtered page may hold fewer than `limit` entries while `next_cursor` is not null. ' +
    'Targets are named (`name`), and a tenant’s entries name the tenant (`tenant_name`). ' +
    '`?format=csv` or `Accept: text/csv` answers a CSV file of up to 5000 entries (`x-next-cursor` names the rest).',
  security: sessionSecurity,
  request: {
    query: AuditQuery.extend({
      tenant_id: z.string().max(64).optional().openapi({
        description: "Only entries about this tenant (its own trail: one Query of the tenant's partition).",
      }),
    }),
  },
  responses: {
    200: auditOk(AuditList, 'A page of entries'),
    ...errorResponses('console', [...errorsOf.session, 'invalid_request']),
  },
});

export function registerAuditList(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const query = c.req.valid('query');
    const { filter, limit, cursor, csv } = auditRequest(c, query);
    if (query.tenant_id !== undefined && !isId(query.tenant_id, 'ten')) {
      throw new ApiError('invalid_request', "'tenant_id' must be a tenant id (ten_…).", {
        param: 'tenant_id',
      });
    }
    const { accounts, now } = c.get('deps');
    const page = await accounts.audit.list({
      limit,
      ...(cursor ? { cursor } : {}),
      filter,
      ...(query.tenant_id ? { tenantId: query.tenant_id } : {}),
    });
    if (page === 'bad_cursor') throw badCursor();
    const data = await operatorEntries(accounts, page.entries);
    if (csv) {
      const day = now().toISOString().slice(0, 10);
      return auditCsv(c, data, page, { tenantColumns: true, filename: `audit-${day}.csv` });
    }
    return c.json({ object: 'list' as const, data, next_cursor: page.cursor }, 200);
  });
}
