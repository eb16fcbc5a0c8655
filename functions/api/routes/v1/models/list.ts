import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../../../env';
import { errorResponses } from '../../../schemas';

const ModelList = z
  .object({
    object: z.literal('list'),
    data: z.array(
      z.object({
        id: z.string().openapi({ example: 'chat@tiny-1' }),
        object: z.literal('model'),
        created: z.number().int(),
        owned_by: z.string(),
      }),
    ),
  })
  .openapi('ModelList');

const route = createRoute({
  method: 'get',
  path: '/v1/models',
  tags: ['Models'],
  summary: 'List the models you can call (OpenAI-compatible)',
  description:
    'Each model by name (its default version) and each callable version as `name@version`; retired versions are left out.',
  security: [{ apiKey: [] }],
  responses: {
    200: { description: 'The catalog', content: { 'application/json': { schema: ModelList } } },
    ...errorResponses,
  },
});

export function registerModelsList(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const catalog = await c.get('deps').resolver.catalog();
    const data: z.infer<typeof ModelList>['data'] = [];
    const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
    for (const { model, versions } of catalog.models.values()) {
      if (model.status !== 'active') continue;
      const defaultVersion = versions.get(model.defaultVersion);
      if (defaultVersion) {
        data.push({
          id: model.name,
          object: 'model',
          created: seconds(defaultVersion.releasedAt),
          owned_by: 'tollgate',
        });
      }
      for (const version of versions.values()) {
        if (version.status === 'retired') continue;
        data.push({
          id: `${model.name}@${version.version}`,
          object: 'model',
          created: seconds(version.releasedAt),
          owned_by: 'tollgate',
        });
      }
    }
    return c.json({ object: 'list' as const, data }, 200);
  });
}
