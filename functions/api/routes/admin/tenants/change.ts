import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { PlanName, sessionSecurity, TenantSchema } from '#api/console/account-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { tenantView } from '#api/http/views';
import { operatorSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { type ChangeResult, changeTenant, type TenantChange } from '#shared/accounts/admin-tenants';
import { ApiError } from '#shared/errors';
import { isId } from '#shared/ids';
import { TenantId, tenantNotFound } from './get';

const Reason = z
  .object({ reason: z.string().trim().min(1).max(500, 'must be at most 500 characters').optional() })
  .openapi('StatusChangeRequest');

const tenantAnswer = {
  200: {
    description: 'The tenant after the change',
    content: { 'application/json': { schema: TenantSchema } },
  },
  ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'not_found', 'conflict']),
};

const suspendRoute = createRoute({
  method: 'post',
  path: '/admin/tenants/{tenant_id}/suspend',
  tags: ['Admin'],
  summary:
    'Suspend a tenant: its keys answer 403 tenant_inactive (here at once, everywhere within AUTH_CACHE_TTL_MS)',
  security: sessionSecurity,
  request: {
    params: TenantId,
    body: { required: false, content: { 'application/json': { schema: Reason } } },
  },
  responses: tenantAnswer,
});

const reactivateRoute = createRoute({
  method: 'post',
  path: '/admin/tenants/{tenant_id}/reactivate',
  tags: ['Admin'],
  summary: 'Reactivate a suspended tenant',
  security: sessionSecurity,
  request: {
    params: TenantId,
    body: { required: false, content: { 'application/json': { schema: Reason } } },
  },
  responses: tenantAnswer,
});

const planRoute = createRoute({
  method: 'patch',
  path: '/admin/tenants/{tenant_id}',
  tags: ['Admin'],
  summary: "Change a tenant's plan (bites at once on this instance, everywhere within AUTH_CACHE_TTL_MS)",
  security: sessionSecurity,
  request: {
    params: TenantId,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({ plan: PlanName.openapi({ description: 'The id of a plan (`GET /admin/plans`).' }) })
            .strict()
            .openapi('TenantUpdate'),
        },
      },
    },
  },
  responses: tenantAnswer,
});

/** Every change goes through here: one transaction with its audit entry. Unchanged is 200 with no entry. */
async function apply(c: Context<ConsoleEnv>, id: string, change: TenantChange) {
  if (!isId(id, 'ten')) throw tenantNotFound(id);
  const op = operatorSession(c);
  const result: ChangeResult = await changeTenant(c.get('deps').accounts, {
    tenantId: id,
    change,
    actor: { kind: 'operator', id: op.operatorId, email: op.email },
    requestId: c.get('requestId'),
  });
  if (result.status === 'not_found') throw tenantNotFound(id);
  if (result.status === 'conflict') throw new ApiError('conflict', result.message, { param: 'tenant_id' });
  return tenantView(result.tenant);
}

export function registerChangeTenant(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(suspendRoute, async (c) => {
    const { reason } = c.req.valid('json');
    return c.json(
      await apply(c, c.req.valid('param').tenant_id, { kind: 'status', to: 'suspended', reason }),
      200,
    );
  });
  app.openapi(reactivateRoute, async (c) => {
    const { reason } = c.req.valid('json');
    return c.json(
      await apply(c, c.req.valid('param').tenant_id, { kind: 'status', to: 'active', reason }),
      200,
    );
  });
  app.openapi(planRoute, async (c) => {
    const { plan } = c.req.valid('json');
    // Read from the table, not the cache: a plan made a moment ago on another instance counts.
    if (!(await c.get('deps').plans.read(plan))) {
      throw new ApiError('invalid_request', `No plan '${plan}'; GET /admin/plans lists them.`, {
        param: 'plan',
      });
    }
    return c.json(await apply(c, c.req.valid('param').tenant_id, { kind: 'plan', to: plan }), 200);
  });
}
