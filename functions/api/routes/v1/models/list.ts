import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { DataEnv } from '#api/http/env';
import { errorResponses, errorsOf, v1Ok } from '#api/spec/answers';
import { ModelListResponse, modelListExample, tenantModelList } from './model-list';

const route = createRoute({
  method: 'get',
  path: '/v1/models',
  tags: ['Models'],
  summary: 'The models your tenant may call, with versions, status and prices',
  description:
    'OpenAI-compatible list: each model by name (with its versions, your pin and the version your plain requests get), followed by each callable version as `name@version`. Retired versions are left out; preview versions are listed with status `preview`. A key limited to some models or versions sees only those (and `serving_version` is the version its plain requests get).',
  security: [{ apiKey: ['models:invoke'] }],
  responses: {
    200: v1Ok({
      description: 'Every active model',
      content: { 'application/json': { schema: ModelListResponse, example: modelListExample } },
    }),
    ...errorResponses('v1', errorsOf.apiKey),
  },
});

export function registerModelsList(app: OpenAPIHono<DataEnv>): void {
  app.openapi(route, async (c) => {
    const deps = c.get('deps');
    const { tenantId, keyScope } = c.get('principal');
    const [catalog, pins, latency] = await Promise.all([
      deps.resolver.catalog(),
      deps.pins.forTenant(tenantId),
      deps.typicalLatency.byVersion(),
    ]);
    return c.json(
      { object: 'list' as const, data: tenantModelList(catalog, tenantId, pins, latency, keyScope) },
      200,
    );
  });
}
