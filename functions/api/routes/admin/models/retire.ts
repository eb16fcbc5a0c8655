import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { AdminModelSchema, changeBy, presentAdminModel, unwrap, VersionParams } from './schemas';

const Body = z
  .object({
    replacement: z.string().min(1).max(64).openapi({
      example: 'mobilenet-v2',
      description: 'The version callers are told to use; aliases of the retired version move to it.',
    }),
  })
  .openapi('AdminRetire');

const route = createRoute({
  method: 'post',
  path: '/admin/models/{model}/versions/{version}/retire',
  security: sessionSecurity,
  tags: ['Admin'],
  summary: 'Retire a version: calls to it are refused with an error naming the replacement',
  request: {
    params: VersionParams,
    body: { required: true, content: { 'application/json': { schema: Body } } },
  },
  responses: {
    200: {
      description: 'The model after the change',
      content: { 'application/json': { schema: AdminModelSchema } },
    },
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'not_found', 'conflict']),
  },
});

export function registerAdminVersionRetire(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { model, version } = c.req.valid('param');
    const { replacement } = c.req.valid('json');
    const result = await c.get('deps').catalogAdmin.retire(changeBy(c), model, version, replacement);
    return c.json(presentAdminModel(unwrap(result)), 200);
  });
}
