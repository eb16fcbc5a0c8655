import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { AdminModelSchema, changeBy, PricesNano, presentAdminModel, unwrap, VersionParams } from './schemas';

const Body = z.object({ prices_nano_usd: PricesNano }).openapi('AdminPrices');

const route = createRoute({
  method: 'put',
  path: '/admin/models/{model}/versions/{version}/prices',
  security: sessionSecurity,
  tags: ['Admin'],
  summary: 'Change the prices of a version (a new price book; recorded usage keeps its old one)',
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

export function registerAdminVersionPrices(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { model, version } = c.req.valid('param');
    const { prices_nano_usd } = c.req.valid('json');
    const result = await c.get('deps').catalogAdmin.setPrices(changeBy(c), model, version, prices_nano_usd);
    return c.json(presentAdminModel(unwrap(result)), 200);
  });
}
