import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { AdminModelSchema, changeBy, presentAdminModel, toVersion, unwrap, VersionInput } from './schemas';

const Body = z
  .object({
    name: z.string().min(1).max(64).openapi({ example: 'image-captions' }),
    task: z.enum(['text-sentiment', 'chat', 'image-moderation', 'ocr', 'embeddings']),
    description: z.string().min(1).max(500),
    units: z.array(z.enum(['input_tokens', 'output_tokens', 'images'])).min(1),
    aliases: z.array(z.string().min(1).max(64)).default(['latest', 'stable']).openapi({
      description: 'Aliases that point at the first version.',
    }),
    version: VersionInput.openapi({ description: 'The first version; it becomes the default.' }),
  })
  .openapi('AdminCreateModel');

const route = createRoute({
  method: 'post',
  path: '/admin/models',
  security: sessionSecurity,
  tags: ['Admin'],
  summary: 'Publish a new model with its first version',
  request: { body: { required: true, content: { 'application/json': { schema: Body } } } },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: AdminModelSchema } } },
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'conflict']),
  },
});

export function registerAdminModelsCreate(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const deps = c.get('deps');
    const first = toVersion(body.name, body.version, deps.now());
    const result = await deps.catalogAdmin.createModel(
      changeBy(c),
      {
        name: body.name,
        task: body.task,
        description: body.description,
        units: body.units,
        defaultVersion: first.version,
        aliases: Object.fromEntries(body.aliases.map((a) => [a, first.version])),
        status: 'active',
      },
      first,
    );
    return c.json(presentAdminModel(unwrap(result)), 201);
  });
}
