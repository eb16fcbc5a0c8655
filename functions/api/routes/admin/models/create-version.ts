import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { errorResponses, errorsOf } from '#api/spec/answers';
import {
  AdminModelSchema,
  changeBy,
  ModelParams,
  presentAdminModel,
  toVersion,
  unwrap,
  VersionInput,
} from './schemas';

const route = createRoute({
  method: 'post',
  path: '/admin/models/{model}/versions',
  security: sessionSecurity,
  tags: ['Admin'],
  summary: 'Publish a new version (it takes no traffic until weights, an alias or a promotion give it some)',
  request: {
    params: ModelParams,
    body: {
      required: true,
      content: { 'application/json': { schema: VersionInput.openapi('AdminVersion') } },
    },
  },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: AdminModelSchema } } },
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'not_found', 'conflict']),
  },
});

export function registerAdminVersionsCreate(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { model } = c.req.valid('param');
    const deps = c.get('deps');
    const version = toVersion(model, c.req.valid('json'), deps.now());
    const result = await deps.catalogAdmin.createVersion(changeBy(c), version);
    return c.json(presentAdminModel(unwrap(result)), 201);
  });
}
