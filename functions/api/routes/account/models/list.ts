import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ModelListResponse, modelListExample, tenantModelList } from '../../v1/models/model-list';

const route = createRoute({
  method: 'get',
  path: '/account/models',
  tags: ['Models'],
  summary: 'The models your tenant may call, with versions, status and prices (for the console)',
  description:
    'The list `GET /v1/models` answers an API key of this tenant, read with the session: the console shows the catalog, prices and your pins without holding a key. Every member may read it.',
  security: sessionSecurity,
  responses: {
    200: {
      description: 'Every active model, then each callable version',
      content: { 'application/json': { schema: ModelListResponse, example: modelListExample } },
    },
    ...errorResponses('console', [...errorsOf.session]),
  },
});

export function registerAccountModels(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const deps = c.get('deps');
    const { tenantId } = userSession(c);
    const [catalog, pins, latency] = await Promise.all([
      deps.resolver.catalog(),
      deps.pins.forTenant(tenantId),
      deps.typicalLatency.byVersion(),
    ]);
    return c.json({ object: 'list' as const, data: tenantModelList(catalog, tenantId, pins, latency) }, 200);
  });
}
