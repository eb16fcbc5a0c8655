import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { keyNamesOf, RefusalList, RefusalsQuery, timeRange } from './schemas';

/** Where a refused call's detail is: the counts say how many, the logs say which. */
export const REFUSAL_NOTE =
  'Counts per minute, key and reason of calls refused or failed after their key was checked (a bad key has no ' +
  'tenant: it is in the logs only). Each call’s detail (path, message, request id) is in the API logs, not kept here.';

const route = createRoute({
  method: 'get',
  path: '/account/requests/refusals',
  tags: ['Request log'],
  summary: 'Refused and failed calls: counts per minute, key and reason',
  description:
    'Every 4xx or 5xx answered to one of your keys, counted per UTC minute, key and reason (the error code), ' +
    'newest minute first: scope and limit refusals, bad input, model failures. A refusal shows here within ' +
    'about a second; counts are kept 30 days. Filter by `key_id`, `project_id`, `reason` and time; `cursor` pages on.',
  security: sessionSecurity,
  middleware: [requirePermission('requests:read')] as const,
  request: { query: RefusalsQuery },
  responses: {
    200: { description: 'A page of counts', content: { 'application/json': { schema: RefusalList } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request']),
  },
});

export function registerListRefusals(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const q = c.req.valid('query');
    const session = userSession(c);
    const { refusalStore, apiKeys, now } = c.get('deps');
    const range = timeRange(q, now());
    const minute = (t: number) => new Date(t).toISOString().slice(0, 16);
    const page = await refusalStore.list(
      session.tenantId,
      {
        fromMinute: minute(range.from),
        toMinute: minute(range.to),
        ...(q.key_id ? { keyId: q.key_id } : {}),
        ...(q.project_id ? { projectId: q.project_id } : {}),
        ...(q.reason ? { reason: q.reason } : {}),
      },
      { limit: q.limit ?? 100, ...(q.cursor ? { cursor: q.cursor } : {}) },
    );
    if (page === 'bad_cursor') {
      throw new ApiError('invalid_request', "'cursor' is not a cursor this list gave out.", {
        param: 'cursor',
      });
    }
    const names = await keyNamesOf(
      apiKeys,
      session.tenantId,
      page.items.map((r) => r.keyId),
    );
    return c.json(
      {
        object: 'list' as const,
        data: page.items.map((r) => ({
          minute: r.minute,
          key_id: r.keyId,
          key_name: names.get(r.keyId) ?? null,
          project_id: r.projectId,
          reason: r.reason,
          status: r.status,
          count: r.count,
        })),
        next_cursor: page.cursor,
        note: REFUSAL_NOTE,
      },
      200,
    );
  });
}
