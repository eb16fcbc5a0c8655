import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { keyNamesOf, REQUEST_ID, RequestIdParam, RequestSchema, requestView, showsCost } from './schemas';

const route = createRoute({
  method: 'get',
  path: '/account/requests/{request_id}',
  tags: ['Request log'],
  summary: 'One served call, by its request id',
  description:
    'The usage record of a call your keys made: status, the version that served it, tokens or images, cost, ' +
    'latency, key, project and channel (online or a batch line). Read consistently: a call is here as soon as it ' +
    'is answered. Bodies are never stored. A refused call has no record (see `/account/requests/refusals`); an id ' +
    'of another tenant is 404.',
  security: sessionSecurity,
  middleware: [requirePermission('requests:read')] as const,
  request: { params: RequestIdParam },
  responses: {
    200: { description: 'The call', content: { 'application/json': { schema: RequestSchema } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found']),
  },
});

export function registerGetRequest(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { request_id: id } = c.req.valid('param');
    if (!REQUEST_ID.test(id)) {
      throw new ApiError(
        'invalid_request',
        "'request_id' is not a request id: it looks like req_ and 26 letters and digits, as in x-request-id.",
        { param: 'request_id' },
      );
    }
    const session = userSession(c);
    const { usage, apiKeys } = c.get('deps');
    const event = await usage.get(session.tenantId, id);
    if (!event) {
      throw new ApiError('not_found', `No call ${id} in your request log (a refused call has no record).`, {
        param: 'request_id',
      });
    }
    const names = await keyNamesOf(apiKeys, session.tenantId, [event.keyId]);
    return c.json(requestView(event, names, showsCost(session.member.role)), 200);
  });
}
