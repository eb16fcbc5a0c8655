import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import {
  AccountAuditEntrySchema,
  AuditQuery,
  auditCsv,
  auditListSchema,
  auditOk,
  auditRequest,
  badCursor,
  tenantEntries,
} from '#api/console/audit-view';
import type { ConsoleEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';

const AccountAuditList = auditListSchema(AccountAuditEntrySchema, 'AccountAuditList');

const route = createRoute({
  method: 'get',
  path: '/account/audit',
  tags: ['Audit'],
  summary: "Your tenant's audit trail, newest first: who changed what, when, before and after; JSON or CSV",
  description:
    'Owners only. Keys created, revoked, rotated and their limits; members invited, joined, re-roled and removed; ' +
    'spend cap, projects and scopes; and Tollgate’s changes to your account (its operators not named, their notes left out). ' +
    'Filter by `action` (or `api_key.*`), `actor` (a member’s id or email, or `user`, `operator`, `system`), ' +
    '`target_type` and time; a filtered page may hold fewer than `limit` entries while `next_cursor` is not null. ' +
    '`?format=csv` or `Accept: text/csv` answers a CSV file of up to 5000 entries (`x-next-cursor` names the rest).',
  security: sessionSecurity,
  middleware: [requirePermission('audit:read')] as const,
  request: { query: AuditQuery },
  responses: {
    200: auditOk(AccountAuditList, 'A page of entries'),
    ...errorResponses('console', [...errorsOf.session, 'invalid_request']),
  },
});

export function registerAccountAudit(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { tenantId } = userSession(c);
    const { filter, limit, cursor, csv } = auditRequest(c, c.req.valid('query'));
    const { accounts, now } = c.get('deps');
    const page = await accounts.audit.list({
      limit,
      ...(cursor ? { cursor } : {}),
      filter,
      tenantId,
      anonymousOperators: true,
    });
    if (page === 'bad_cursor') throw badCursor();
    const data = await tenantEntries(accounts, tenantId, page.entries);
    if (csv) {
      const day = now().toISOString().slice(0, 10);
      return auditCsv(c, data, page, { tenantColumns: false, filename: `audit-${day}.csv` });
    }
    return c.json({ object: 'list' as const, data, next_cursor: page.cursor }, 200);
  });
}
