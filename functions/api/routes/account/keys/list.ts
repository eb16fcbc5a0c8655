import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { ApiKeySchema, sessionSecurity } from '#api/console/account-schemas';
import { projectFor } from '#api/console/project-access';
import type { ConsoleEnv } from '#api/http/env';
import { apiKeyView } from '#api/http/views';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ApiError } from '#shared/errors';

const ListQuery = z.object({
  limit: z.coerce.number().int('must be a whole number').min(1).max(100).default(100).optional(),
  cursor: z.string().max(2048).optional().openapi({ description: 'From the previous page’s `next_cursor`.' }),
  project_id: z.string().max(64).optional().openapi({
    description: 'Only this project’s keys (a page may then hold fewer than `limit`). Unknown: 404.',
  }),
});

const KeyList = z
  .object({ object: z.literal('list'), data: z.array(ApiKeySchema), next_cursor: z.string().nullable() })
  .openapi('ApiKeyList');

const route = createRoute({
  method: 'get',
  path: '/account/keys',
  tags: ['API keys'],
  summary: "Your tenant's API keys (never their secrets), oldest first",
  security: sessionSecurity,
  middleware: [requirePermission('keys:read')] as const,
  request: { query: ListQuery },
  responses: {
    200: { description: 'A page of keys', content: { 'application/json': { schema: KeyList } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found']),
  },
});

export function registerListKeys(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const query = c.req.valid('query');
    const deps = c.get('deps');
    const session = userSession(c);
    if (query.project_id !== undefined) {
      await projectFor(deps.accounts, session, query.project_id, undefined, { param: 'project_id' });
    }
    const page = await deps.accounts.apiKeys.list(session.tenantId, {
      limit: query.limit ?? 100,
      cursor: query.cursor,
      projectId: query.project_id,
    });
    if (page === 'bad_cursor') {
      throw new ApiError('invalid_request', "'cursor' is not a cursor this list gave out.", {
        param: 'cursor',
      });
    }
    const now = deps.now();
    return c.json(
      { object: 'list' as const, data: page.keys.map((k) => apiKeyView(k, now)), next_cursor: page.cursor },
      200,
    );
  });
}
