import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { PinParams } from './schemas';

const route = createRoute({
  method: 'delete',
  path: '/account/models/pins/{model}',
  security: sessionSecurity,
  tags: ['Account'],
  middleware: [requirePermission('models:manage')] as const,
  summary: 'Remove a pin: the model follows the default and traffic weights again',
  request: { params: PinParams },
  responses: {
    204: { description: 'Removed' },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found']),
  },
});

export function registerPinsRemove(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { model } = c.req.valid('param');
    const removed = await c.get('deps').pins.remove(userSession(c).tenantId, model);
    if (!removed) throw new ApiError('not_found', `You have no pin for '${model}'.`, { param: 'model' });
    return c.body(null, 204);
  });
}
