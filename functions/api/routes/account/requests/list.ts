import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { idTime } from '#shared/ids';
import type { UsageEventFilter } from '#shared/metering/usage-store';
import { keyNamesOf, ListQuery, REQUEST_ID, RequestList, requestView, showsCost, timeRange } from './schemas';

const route = createRoute({
  method: 'get',
  path: '/account/requests',
  tags: ['Request log'],
  summary: 'Served calls, newest first, filtered by key, project, model version, status and time',
  description:
    'The usage records of the last 30 days (24 hours by default), newest first; `after` the previous page’s ' +
    '`last_id` pages on. Refused and failed calls are counted per minute at `/account/requests/refusals`.',
  security: sessionSecurity,
  middleware: [requirePermission('requests:read')] as const,
  request: { query: ListQuery },
  responses: {
    200: { description: 'A page of calls', content: { 'application/json': { schema: RequestList } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request']),
  },
});

export function registerListRequests(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const q = c.req.valid('query');
    const session = userSession(c);
    const { usage, apiKeys, now } = c.get('deps');
    const range = timeRange(q, now());
    if (q.after !== undefined && !REQUEST_ID.test(q.after)) {
      throw new ApiError('invalid_request', "'after' must be a request id: the previous page's last_id.", {
        param: 'after',
      });
    }
    const filter: UsageEventFilter = {};
    if (q.key_id) filter.keyId = q.key_id;
    if (q.project_id) filter.projectId = q.project_id;
    if (q.status) filter.status = q.status;
    if (q.model) {
      const at = q.model.indexOf('@');
      if (at === 0 || at === q.model.length - 1) {
        throw new ApiError('invalid_request', "'model' is a model name or name@version.", { param: 'model' });
      }
      if (at > 0) {
        filter.model = q.model.slice(0, at);
        filter.version = q.model.slice(at + 1);
      } else filter.model = q.model;
    }
    const limit = q.limit ?? 50;
    const page = await usage.page(session.tenantId, {
      ...range,
      ...(q.after && idTime(q.after) <= range.to ? { before: q.after } : {}),
      limit,
      filter,
    });
    const names = await keyNamesOf(
      apiKeys,
      session.tenantId,
      page.events.map((e) => e.keyId),
    );
    const showCost = showsCost(session.member.role);
    const data = page.events.map((e) => requestView(e, names, showCost));
    return c.json(
      {
        object: 'list' as const,
        data,
        first_id: data[0]?.id ?? null,
        last_id: data.at(-1)?.id ?? null,
        has_more: page.hasMore,
      },
      200,
    );
  });
}
