import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { AdminModelSchema, changeBy, ModelParams, presentAdminModel, unwrap } from './schemas';

const Body = z
  .object({
    weights: z.record(z.string(), z.number().int().min(0).max(10_000)).openapi({
      example: { 'mobilenet-v2': 90, 'inception-v3': 10 },
      description:
        'Relative weights for requests that name no version and have no pin; sticky per tenant. `{}` sends them all to the default.',
    }),
  })
  .openapi('AdminTraffic');

const route = createRoute({
  method: 'put',
  path: '/admin/models/{model}/traffic',
  security: sessionSecurity,
  tags: ['Admin'],
  summary: 'Set the traffic weights between versions (canary)',
  request: {
    params: ModelParams,
    body: { required: true, content: { 'application/json': { schema: Body } } },
  },
  responses: {
    200: {
      description: 'The model with its new weights',
      content: { 'application/json': { schema: AdminModelSchema } },
    },
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'not_found', 'conflict']),
  },
});

export function registerAdminTrafficSet(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { model } = c.req.valid('param');
    const { weights } = c.req.valid('json');
    const result = await c.get('deps').catalogAdmin.setTraffic(changeBy(c), model, weights);
    return c.json(presentAdminModel(unwrap(result)), 200);
  });
}
