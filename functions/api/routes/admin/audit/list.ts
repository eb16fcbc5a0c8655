import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ApiError } from '#shared/errors';

const AuditEntrySchema = z
  .object({
    id: z.string(),
    object: z.literal('audit_entry'),
    at: z.string(),
    actor: z.object({
      kind: z.enum(['operator', 'system', 'user']),
      id: z.string(),
      email: z.string().optional(),
    }),
    action: z.string().openapi({ example: 'tenant.suspend' }),
    target: z.object({ type: z.string(), id: z.string(), tenant_id: z.string().optional() }),
    before: z.record(z.string(), z.unknown()).nullable(),
    after: z.record(z.string(), z.unknown()).nullable(),
    request_id: z.string().nullable(),
  })
  .openapi('AuditEntry');

const AuditList = z
  .object({ object: z.literal('list'), data: z.array(AuditEntrySchema), next_cursor: z.string().nullable() })
  .openapi('AuditList');

const route = createRoute({
  method: 'get',
  path: '/admin/audit',
  tags: ['Admin'],
  summary: 'Operator actions, newest first: who, what, when, before and after',
  security: sessionSecurity,
  request: {
    query: z.object({
      limit: z.coerce.number().int('must be a whole number').min(1).max(200).optional(),
      cursor: z.string().max(2048).optional(),
    }),
  },
  responses: {
    200: { description: 'A page of entries', content: { 'application/json': { schema: AuditList } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request']),
  },
});

export function registerAuditList(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const query = c.req.valid('query');
    const page = await c.get('deps').accounts.audit.list({ limit: query.limit ?? 50, cursor: query.cursor });
    if (page === 'bad_cursor') {
      throw new ApiError('invalid_request', "'cursor' is not a cursor this list gave out.", {
        param: 'cursor',
      });
    }
    return c.json(
      {
        object: 'list' as const,
        data: page.entries.map((e) => ({
          id: e.id,
          object: 'audit_entry' as const,
          at: e.at,
          actor: e.actor,
          action: e.action,
          target: {
            type: e.target.type,
            id: e.target.id,
            ...(e.target.tenantId ? { tenant_id: e.target.tenantId } : {}),
          },
          before: e.before,
          after: e.after,
          request_id: e.requestId,
        })),
        next_cursor: page.cursor,
      },
      200,
    );
  });
}
