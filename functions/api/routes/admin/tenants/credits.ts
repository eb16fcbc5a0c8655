import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { sessionSecurity } from '#api/console/account-schemas';
import {
  BillingModeInput,
  CreditsQuery,
  CreditsSchema,
  creditsView,
  GrantInput,
} from '#api/console/credit-schemas';
import { toNano } from '#api/console/limits-schemas';
import type { ConsoleEnv } from '#api/http/env';
import { operatorSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { isId } from '#shared/ids';
import { TenantId, tenantNotFound } from './get';

const answer = (description: string, status: 200 | 201) => ({
  [status]: { description, content: { 'application/json': { schema: CreditsSchema } } },
});

const getRoute = createRoute({
  method: 'get',
  path: '/admin/tenants/{tenant_id}/credits',
  tags: ['Admin'],
  summary: "A tenant's credit: balance by kind, grants, and the ledger (newest first, `cursor` pages on)",
  security: sessionSecurity,
  request: { params: TenantId, query: CreditsQuery },
  responses: {
    ...answer('The credit', 200),
    ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found']),
  },
});

const grantRoute = createRoute({
  method: 'post',
  path: '/admin/tenants/{tenant_id}/credits',
  tags: ['Admin'],
  summary: 'Grant credit (paid, promotional or trial) to a tenant',
  description:
    'In USD, above 0, expiring in the future. It burns promotional (trial included) before paid, earliest ' +
    'expiry first; what is not burned by its expiry leaves the balance. Audited (`tenant.credit_grant`) in ' +
    'the same transaction. The tenant is admitted against the balance once it is `prepaid` (PATCH).',
  security: sessionSecurity,
  request: {
    params: TenantId,
    body: { required: true, content: { 'application/json': { schema: GrantInput } } },
  },
  responses: {
    ...answer('The credit after the grant', 201),
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'not_found']),
  },
});

const modeRoute = createRoute({
  method: 'patch',
  path: '/admin/tenants/{tenant_id}/credits',
  tags: ['Admin'],
  summary:
    'Switch a tenant to prepaid (admitted against its balance, 429 insufficient_balance at zero) or back; turn free-only on or off',
  description:
    'Audited (`tenant.billing_mode`, `tenant.free_only`). `free_only` is applied after `billing_mode`. Bites at once ' +
    'on this instance, everywhere within AUTH_CACHE_TTL_MS.',
  security: sessionSecurity,
  request: {
    params: TenantId,
    body: { required: true, content: { 'application/json': { schema: BillingModeInput } } },
  },
  responses: {
    ...answer('The credit after the change', 200),
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'not_found', 'conflict']),
  },
});

async function tenantOf(c: Context<ConsoleEnv>, id: string) {
  const tenant = isId(id, 'ten') ? await c.get('deps').accounts.tenants.get(id) : undefined;
  if (!tenant) throw tenantNotFound(id);
  return tenant;
}

export function registerTenantCredits(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(getRoute, async (c) => {
    const tenant = await tenantOf(c, c.req.valid('param').tenant_id);
    const { quotas, now } = c.get('deps');
    return c.json(
      await creditsView(quotas.credits, tenant, now(), c.req.valid('query'), {
        connected: Boolean(c.get('deps').config.STRIPE_SECRET_KEY),
      }),
      200,
    );
  });

  app.openapi(grantRoute, async (c) => {
    const id = c.req.valid('param').tenant_id;
    if (!isId(id, 'ten')) throw tenantNotFound(id);
    const body = c.req.valid('json');
    const { quotas, now } = c.get('deps');
    const at = now();
    const expiresAt = new Date(body.expires_at);
    if (expiresAt.getTime() <= at.getTime()) {
      throw new ApiError(
        'invalid_request',
        `'expires_at' must be in the future (it is now ${at.toISOString()}).`,
        {
          param: 'expires_at',
        },
      );
    }
    const op = operatorSession(c);
    const out = await quotas.credits.grant(
      {
        tenantId: id,
        kind: body.kind,
        amountNanoUsd: toNano(body.amount_usd),
        expiresAt: expiresAt.toISOString(),
        note: body.note || null,
        actor: { kind: 'operator', id: op.operatorId, email: op.email },
        requestId: c.get('requestId'),
      },
      at,
    );
    if (out.status === 'not_found') throw tenantNotFound(id);
    return c.json(
      await creditsView(
        quotas.credits,
        await tenantOf(c, id),
        at,
        {},
        { connected: Boolean(c.get('deps').config.STRIPE_SECRET_KEY) },
      ),
      201,
    );
  });

  app.openapi(modeRoute, async (c) => {
    const id = c.req.valid('param').tenant_id;
    if (!isId(id, 'ten')) throw tenantNotFound(id);
    const { quotas, now, authenticator } = c.get('deps');
    const op = operatorSession(c);
    const body = c.req.valid('json');
    const actor = { kind: 'operator' as const, id: op.operatorId, email: op.email };
    if (body.billing_mode !== undefined) {
      const out = await quotas.credits.setBillingMode(
        { tenantId: id, mode: body.billing_mode, actor, requestId: c.get('requestId') },
        now(),
      );
      if (out === 'not_found') throw tenantNotFound(id);
    }
    if (body.free_only !== undefined) {
      const out = await quotas.credits.setFreeOnly(
        { tenantId: id, on: body.free_only, actor, requestId: c.get('requestId') },
        now(),
      );
      if (out.status === 'not_found') throw tenantNotFound(id);
      if (out.status === 'conflict') {
        throw new ApiError('conflict', "The tenant's billing changed meanwhile; read it again and retry.", {
          param: 'free_only',
        });
      }
    }
    // Here at once; other instances within AUTH_CACHE_TTL_MS.
    authenticator.forgetTenant(id);
    return c.json(
      await creditsView(
        quotas.credits,
        await tenantOf(c, id),
        now(),
        {},
        { connected: Boolean(c.get('deps').config.STRIPE_SECRET_KEY) },
      ),
      200,
    );
  });
}
