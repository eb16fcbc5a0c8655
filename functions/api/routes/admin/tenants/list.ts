import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity, TenantSchema } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { tenantView } from '#api/http/views';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { findTenants } from '#shared/accounts/admin-tenants';
import { ApiError } from '#shared/errors';

const ListQuery = z.object({
  q: z
    .string()
    .trim()
    .max(254)
    .optional()
    .openapi({ description: 'A tenant id, a member’s email address, or the start of a tenant’s name.' }),
  status: z.enum(['pending_verification', 'active', 'past_due', 'suspended']).optional(),
  limit: z.coerce.number().int('must be a whole number').min(1).max(100).optional(),
  cursor: z.string().max(2048).optional(),
});

const TenantList = z
  .object({ object: z.literal('list'), data: z.array(TenantSchema), next_cursor: z.string().nullable() })
  .openapi('TenantList');

const route = createRoute({
  method: 'get',
  path: '/admin/tenants',
  tags: ['Admin'],
  summary: 'Tenants, newest first, or found by id, member email or name prefix',
  description:
    'With `status`, a page holds only matching tenants and may be shorter than `limit`; keep following `next_cursor`.',
  security: sessionSecurity,
  request: { query: ListQuery },
  responses: {
    200: { description: 'A page of tenants', content: { 'application/json': { schema: TenantList } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request']),
  },
});

export function registerListTenants(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const query = c.req.valid('query');
    const page = await findTenants(c.get('deps').accounts, {
      q: query.q,
      limit: query.limit ?? 50,
      cursor: query.cursor,
    });
    if (page === 'bad_cursor') {
      throw new ApiError('invalid_request', "'cursor' is not a cursor this list gave out.", {
        param: 'cursor',
      });
    }
    const tenants = query.status ? page.tenants.filter((t) => t.status === query.status) : page.tenants;
    return c.json({ object: 'list' as const, data: tenants.map(tenantView), next_cursor: page.cursor }, 200);
  });
}
