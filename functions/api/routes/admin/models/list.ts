import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { AdminModelSchema, presentAdminModel } from './schemas';

const route = createRoute({
  method: 'get',
  path: '/admin/models',
  security: sessionSecurity,
  tags: ['Admin'],
  summary: 'The whole catalog: every model and version, retired ones too, with traffic and revisions',
  responses: {
    200: {
      description: 'The catalog, read fresh (not from the gateway cache)',
      content: {
        'application/json': {
          schema: z.object({ object: z.literal('list'), data: z.array(AdminModelSchema) }),
        },
      },
    },
    ...errorResponses('console', [...errorsOf.session]),
  },
});

export function registerAdminModelsList(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const catalog = await c.get('deps').catalogAdmin.load();
    const data = [...catalog.models.values()]
      .sort((a, b) => a.model.name.localeCompare(b.model.name))
      .map(presentAdminModel);
    return c.json({ object: 'list' as const, data }, 200);
  });
}
