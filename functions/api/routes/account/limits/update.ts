import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { sessionSecurity } from '#api/console/account-schemas';
import { toNano, UsdInput } from '#api/console/limits-schemas';
import { LimitsSchema, limitsView } from '#api/console/limits-view';
import { memberAuditItem } from '#api/console/member-audit';
import type { ConsoleEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ApiError } from '#shared/errors';

const UpdateLimits = z
  .object({
    spend_cap_usd: UsdInput.nullable().openapi({
      description:
        "Your monthly spend cap in USD (list prices of everything used this month). It can only lower the plan's cap; null removes yours.",
    }),
  })
  .strict()
  .openapi('UpdateLimitsRequest');

const route = createRoute({
  method: 'patch',
  path: '/account/limits',
  tags: ['Limits'],
  summary: 'Set or remove your monthly spend cap',
  description:
    'Owners and billing members. Takes effect at once on the instance that handled it and everywhere within AUTH_CACHE_TTL_MS. ' +
    'Requests that would take the month past the cap are refused with 429 `spend_cap_reached`.',
  security: sessionSecurity,
  middleware: [requirePermission('spend_cap:manage')] as const,
  request: { body: { required: true, content: { 'application/json': { schema: UpdateLimits } } } },
  responses: {
    200: {
      description: 'The limits after the change',
      content: { 'application/json': { schema: LimitsSchema } },
    },
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'not_found', 'conflict']),
  },
});

export function registerUpdateLimits(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const session = userSession(c);
    const deps = c.get('deps');
    const cap = body.spend_cap_usd === null ? null : toNano(body.spend_cap_usd);
    // Conditional on the cap read, so the audit entry's `before` is what was replaced; a change
    // meanwhile is read again (a few times at most: an owner's settings, not a hot item).
    for (let attempt = 0; ; attempt++) {
      const current = await deps.accounts.tenants.get(session.tenantId, { consistent: true });
      if (!current) throw new ApiError('not_found', 'Your account no longer exists.');
      const from = current.spendCapNanoUsd ?? null;
      if (from === cap) break;
      const entry = memberAuditItem(c, {
        action: 'tenant.spend_cap',
        target: { type: 'tenant', id: session.tenantId, name: current.name },
        before: { spendCapNanoUsd: from },
        after: { spendCapNanoUsd: cap },
      });
      if (await deps.accounts.tenants.setSpendCap(session.tenantId, cap, { from, also: [entry] })) break;
      if (attempt >= 4)
        throw new ApiError('conflict', 'Your spend cap changed meanwhile; read it and try again.');
    }
    deps.authenticator.forgetTenant(session.tenantId);
    const tenant = await deps.accounts.tenants.get(session.tenantId);
    return c.json(await limitsView(deps, tenant ?? session.tenant), 200);
  });
}
