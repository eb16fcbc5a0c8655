import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { PlanSchema, planView } from '#api/console/limits-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { PlanIdParam, planNotFound } from './schemas';

const PlanList = z.object({ object: z.literal('list'), data: z.array(PlanSchema) }).openapi('PlanList');

const listRoute = createRoute({
  method: 'get',
  path: '/admin/plans',
  tags: ['Admin'],
  summary: 'Every plan, by id',
  security: sessionSecurity,
  responses: {
    200: { description: 'The plans', content: { 'application/json': { schema: PlanList } } },
    ...errorResponses('console', [...errorsOf.session]),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/admin/plans/{plan_id}',
  tags: ['Admin'],
  summary: 'One plan',
  security: sessionSecurity,
  request: { params: PlanIdParam },
  responses: {
    200: { description: 'The plan', content: { 'application/json': { schema: PlanSchema } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found']),
  },
});

export function registerReadPlans(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(listRoute, async (c) => {
    const plans = [...(await c.get('deps').plans.all()).values()].sort((a, b) => a.id.localeCompare(b.id));
    return c.json({ object: 'list' as const, data: plans.map(planView) }, 200);
  });
  app.openapi(getRoute, async (c) => {
    const { plan_id: id } = c.req.valid('param');
    const stored = await c.get('deps').plans.read(id);
    if (!stored) throw planNotFound(id);
    return c.json(planView(stored.plan), 200);
  });
}
