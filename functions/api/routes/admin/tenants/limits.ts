import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { LimitsPatchInput, toLimitsPatch } from '#api/console/limits-schemas';
import { LimitsSchema, limitsView } from '#api/console/limits-view';
import type { ConsoleEnv } from '#api/http/env';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { isId } from '#shared/ids';
import { setTenantOverrides } from '#shared/quotas/limits-admin';
import { limitsAdmin } from '../limits-deps';
import { TenantId, tenantNotFound } from './get';

const getRoute = createRoute({
  method: 'get',
  path: '/admin/tenants/{tenant_id}/limits',
  tags: ['Admin'],
  summary: "A tenant's plan, overrides, owner's cap, effective limits, this month's use and alerts",
  security: sessionSecurity,
  request: { params: TenantId },
  responses: {
    200: { description: 'The limits', content: { 'application/json': { schema: LimitsSchema } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found']),
  },
});

const patchRoute = createRoute({
  method: 'patch',
  path: '/admin/tenants/{tenant_id}/limits',
  tags: ['Admin'],
  summary: "Override a tenant's plan limits (raise or lower any of them)",
  description:
    'Absent fields stay; null removes an override (the plan applies again); `included` changes per unit. ' +
    "The owner's own spend cap still lowers an overridden cap. Audited (`tenant.limits`, before and after); " +
    'bites at once on this instance, everywhere within AUTH_CACHE_TTL_MS.',
  security: sessionSecurity,
  request: {
    params: TenantId,
    body: { required: true, content: { 'application/json': { schema: LimitsPatchInput } } },
  },
  responses: {
    200: {
      description: 'The limits after the change',
      content: { 'application/json': { schema: LimitsSchema } },
    },
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'not_found', 'conflict']),
  },
});

export function registerTenantLimits(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(getRoute, async (c) => {
    const { tenant_id: id } = c.req.valid('param');
    const tenant = isId(id, 'ten') ? await c.get('deps').accounts.tenants.get(id) : undefined;
    if (!tenant) throw tenantNotFound(id);
    return c.json(await limitsView(c.get('deps'), tenant), 200);
  });

  app.openapi(patchRoute, async (c) => {
    const { tenant_id: id } = c.req.valid('param');
    if (!isId(id, 'ten')) throw tenantNotFound(id);
    const { d, actor, requestId } = limitsAdmin(c);
    const result = await setTenantOverrides(d, {
      tenantId: id,
      patch: toLimitsPatch(c.req.valid('json')),
      actor,
      requestId,
    });
    if (result.status === 'not_found') throw tenantNotFound(id);
    if (result.status !== 'changed' && result.status !== 'unchanged') {
      throw new ApiError('conflict', "The tenant's limits changed meanwhile; read them again and retry.", {
        param: 'tenant_id',
      });
    }
    return c.json(await limitsView(c.get('deps'), result.tenant), 200);
  });
}
