import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { AdminModelSchema, changeBy, presentAdminModel, unwrap, VersionParams } from './schemas';

const Body = z
  .object({
    default: z
      .boolean()
      .default(false)
      .openapi({ description: 'Make it the default (a preview becomes active).' }),
    aliases: z
      .array(z.string().min(1).max(64))
      .default([])
      .openapi({ example: ['stable'] }),
  })
  .refine((b) => b.default || b.aliases.length > 0, { message: 'give default: true or at least one alias' })
  .openapi('AdminPromote');

const route = createRoute({
  method: 'post',
  path: '/admin/models/{model}/versions/{version}/promote',
  security: sessionSecurity,
  tags: ['Admin'],
  summary: 'Make a version the default and/or point aliases at it',
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

export function registerAdminVersionPromote(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { model, version } = c.req.valid('param');
    const body = c.req.valid('json');
    const result = await c.get('deps').catalogAdmin.promote(changeBy(c), model, version, {
      makeDefault: body.default,
      aliases: body.aliases,
    });
    return c.json(presentAdminModel(unwrap(result)), 200);
  });
}
