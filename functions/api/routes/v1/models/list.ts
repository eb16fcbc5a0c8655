import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../../../env';
import { errorResponses, errorsOf, v1Ok } from '../../../spec/answers';
import { ModelSchema, modelExamples, presentModel, VersionSchema } from './present';

const ListResponse = z
  .object({ object: z.literal('list'), data: z.array(z.union([ModelSchema, VersionSchema])) })
  .openapi('ModelList');

const route = createRoute({
  method: 'get',
  path: '/v1/models',
  tags: ['Models'],
  summary: 'The models your tenant may call, with versions, status and prices',
  description:
    'OpenAI-compatible list: each model by name (with its versions, your pin and the version your plain requests get), followed by each callable version as `name@version`. Retired versions are left out; preview versions are listed with status `preview`.',
  security: [{ apiKey: ['models:invoke'] }],
  responses: {
    200: v1Ok({
      description: 'Every active model',
      content: {
        'application/json': {
          schema: ListResponse,
          example: { object: 'list', data: [modelExamples.model, modelExamples.version] },
        },
      },
    }),
    ...errorResponses('v1', errorsOf.apiKey),
  },
});

export function registerModelsList(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const deps = c.get('deps');
    const { tenantId } = c.get('principal');
    const [catalog, pins] = await Promise.all([deps.resolver.catalog(), deps.pins.forTenant(tenantId)]);
    // Every id a client can pass as `model` is an entry of its own, as OpenAI clients expect.
    const data = [...catalog.models.values()]
      .filter((e) => e.model.status === 'active')
      .sort((a, b) => a.model.name.localeCompare(b.model.name))
      .flatMap((e) => {
        const model = presentModel(e, tenantId, pins);
        return [model, ...model.versions];
      });
    return c.json({ object: 'list' as const, data }, 200);
  });
}
