import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { AdminModelSchema, changeBy, presentAdminModel, unwrap, VersionParams } from './schemas';

const Body = z
  .object({
    sunset_at: z.iso.datetime().openapi({
      example: '2026-12-31T00:00:00Z',
      description: 'When the version stops answering; sent to callers in the `Sunset` header.',
    }),
  })
  .openapi('AdminDeprecate');

const route = createRoute({
  method: 'post',
  path: '/admin/models/{model}/versions/{version}/deprecate',
  security: sessionSecurity,
  tags: ['Admin'],
  summary: 'Deprecate a version: it still answers, with Deprecation and Sunset headers',
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

export function registerAdminVersionDeprecate(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { model, version } = c.req.valid('param');
    const { sunset_at } = c.req.valid('json');
    const result = await c.get('deps').catalogAdmin.deprecate(changeBy(c), model, version, sunset_at);
    return c.json(presentAdminModel(unwrap(result)), 200);
  });
}
