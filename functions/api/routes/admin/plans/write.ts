import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { PlanSchema, planView, toLimitsPatch, toTrialPatch } from '#api/console/limits-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { applyPlanPatch, createPlan, updatePlan } from '#shared/quotas/limits-admin';
import type { Plan } from '#shared/quotas/plans';
import { limitsAdmin } from '../limits-deps';
import { CreatePlan, PlanIdParam, planWriteError, UpdatePlan } from './schemas';

const createPlanRoute = createRoute({
  method: 'post',
  path: '/admin/plans',
  tags: ['Admin'],
  summary: 'Create a plan',
  description:
    'Absent limits are unlimited. `trial_usd` with `trial_days`: the trial credit each newly verified tenant on ' +
    'the plan gets (absent or 0: none). Audited (`plan.create`).',
  security: sessionSecurity,
  request: { body: { required: true, content: { 'application/json': { schema: CreatePlan } } } },
  responses: {
    201: { description: 'The plan', content: { 'application/json': { schema: PlanSchema } } },
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'conflict']),
  },
});

const updatePlanRoute = createRoute({
  method: 'patch',
  path: '/admin/plans/{plan_id}',
  tags: ['Admin'],
  summary: 'Change a plan: its tenants get the new limits within CATALOG_CACHE_TTL_MS',
  description:
    'Absent fields stay; a limit set to null is removed (unlimited); `included` changes per unit; ' +
    '`trial_usd` or `trial_days` set to 0 (or null) removes the trial, which tenants already verified keep. ' +
    'Audited (`plan.update`, with before and after); an edit that changes nothing writes nothing.',
  security: sessionSecurity,
  request: {
    params: PlanIdParam,
    body: { required: true, content: { 'application/json': { schema: UpdatePlan } } },
  },
  responses: {
    200: {
      description: 'The plan after the change',
      content: { 'application/json': { schema: PlanSchema } },
    },
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'not_found', 'conflict']),
  },
});

export function registerWritePlans(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(createPlanRoute, async (c) => {
    const body = c.req.valid('json');
    const patch = toLimitsPatch(body);
    const plan: Plan = {
      id: body.id,
      name: body.name,
      overage: body.overage,
      included: {},
      selfServe: body.self_serve ?? false,
    };
    for (const f of ['requestsPerMinute', 'tokensPerMinute', 'maxConcurrent', 'spendCapNanoUsd'] as const) {
      const v = patch[f];
      if (v !== undefined && v !== null) plan[f] = v;
    }
    for (const [u, n] of Object.entries(patch.included ?? {})) {
      if (n !== null && n !== undefined) plan.included[u as keyof Plan['included']] = n;
    }
    const { d, actor, requestId } = limitsAdmin(c);
    const result = await createPlan(d, {
      plan: applyPlanPatch(plan, toTrialPatch(body)),
      actor,
      requestId,
    });
    if (!('plan' in result)) throw planWriteError(body.id, result);
    return c.json(planView(result.plan), 201);
  });

  app.openapi(updatePlanRoute, async (c) => {
    const { plan_id: id } = c.req.valid('param');
    const body = c.req.valid('json');
    const { d, actor, requestId } = limitsAdmin(c);
    const result = await updatePlan(d, {
      id,
      patch: {
        ...toLimitsPatch(body),
        ...toTrialPatch(body),
        name: body.name,
        overage: body.overage,
        selfServe: body.self_serve,
      },
      actor,
      requestId,
    });
    if (!('plan' in result)) throw planWriteError(id, result);
    return c.json(planView(result.plan), 200);
  });
}
