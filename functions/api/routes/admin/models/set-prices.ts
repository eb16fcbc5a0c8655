import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { AdminModelSchema, changeBy, PricesNano, presentAdminModel, unwrap, VersionParams } from './schemas';

const Body = z
  .object({
    prices_nano_usd: PricesNano,
    batch_prices_nano_usd: PricesNano.nullish().openapi({
      description:
        'nano-USD per unit for batch lines, each at most the online price of its unit. Absent or null: half the online prices (rounded down), the default.',
      example: { input_tokens: 40 },
    }),
  })
  .openapi('AdminPrices');

const route = createRoute({
  method: 'put',
  path: '/admin/models/{model}/versions/{version}/prices',
  security: sessionSecurity,
  tags: ['Admin'],
  summary: 'Change the prices of a version (a new price book; recorded usage keeps its old one)',
  description:
    'Online prices, and optionally batch prices (`batch_prices_nano_usd`, at most the online price per unit; without them batch lines cost half the online price). Both are in the audited change.',
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
    const { prices_nano_usd, batch_prices_nano_usd } = c.req.valid('json');
    const result = await c
      .get('deps')
      .catalogAdmin.setPrices(changeBy(c), model, version, prices_nano_usd, batch_prices_nano_usd ?? null);
    return c.json(presentAdminModel(unwrap(result)), 200);
  });
}
