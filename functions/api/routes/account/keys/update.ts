import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { ApiKeySchema, sessionSecurity } from '#api/console/account-schemas';
import { keyTarget, memberAuditItem } from '#api/console/member-audit';
import { requireKeyProjectPermission } from '#api/console/project-access';
import type { ConsoleEnv } from '#api/http/env';
import { apiKeyView } from '#api/http/views';
import { userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { isId } from '#shared/ids';
import { projectIdOf } from '#shared/projects/project';
import { FutureTime, KeyId, KeyLimitsInput, KeyScopeInput, toLimits, toScope } from './schemas';

const UpdateKey = z
  .object({
    limits: KeyLimitsInput.nullable().optional().openapi({
      description: "The key's limits, replacing the ones it had; null removes them. Owners only.",
    }),
    scope: KeyScopeInput.nullable().optional().openapi({
      description: "The key's scope, replacing the one it had; null (or an empty scope) removes it.",
    }),
    expires_at: FutureTime.nullable().optional().openapi({
      description:
        "When the key stops working (in the future); null: never. A rotated key's expiry is its grace period and cannot be changed (409).",
    }),
  })
  .strict()
  .refine((b) => b.limits !== undefined || b.scope !== undefined || b.expires_at !== undefined, {
    message: 'must change at least one of limits, scope, expires_at',
  })
  .openapi('UpdateKeyRequest');

const route = createRoute({
  method: 'patch',
  path: '/account/keys/{key_id}',
  tags: ['API keys'],
  summary:
    "Change an API key's scope (models, endpoints, read-only, IP ranges), its expiry, or its limits (requests and tokens per minute, its monthly budget: hard stop or alert only, its alerts)",
  description:
    'Scope and expiry: owners and developers of the key’s project; limits: owners of the key’s project (tenant owners, or a project role of owner). Only a console session may change a key: no route an API key can call changes keys, so a key cannot widen its own scope. ' +
    'Bites at once on the instance that handled it, everywhere within AUTH_CACHE_TTL_MS. A scope or expiry change is in the audit trail. ' +
    "A key's limits only narrow the tenant's; a key over one gets 429 naming the key. " +
    'A budget alerts at the thresholds it names (default 50, 80 and 100%), once each per key per month, by email to ' +
    'its recipients and in GET /account/alerts. A recipient that is not a member of your team is a 400 naming it.',
  security: sessionSecurity,
  request: {
    params: KeyId,
    body: { required: true, content: { 'application/json': { schema: UpdateKey } } },
  },
  responses: {
    200: { description: 'The key', content: { 'application/json': { schema: ApiKeySchema } } },
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'not_found', 'conflict']),
  },
});

export function registerUpdateKey(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { key_id: keyId } = c.req.valid('param');
    const body = c.req.valid('json');
    const session = userSession(c);
    const { tenantId } = session;
    const deps = c.get('deps');
    const { accounts } = deps;
    const now = deps.now();
    const notFoundError = new ApiError('not_found', `No API key '${keyId}' in your account.`, {
      param: 'key_id',
    });
    if (body.expires_at && Date.parse(body.expires_at) <= now.getTime()) {
      throw new ApiError('invalid_request', "'expires_at' must be in the future.", { param: 'expires_at' });
    }
    if (!isId(keyId, 'key')) throw notFoundError;
    const before = await accounts.apiKeys.get(tenantId, keyId);
    if (!before) throw notFoundError;
    if (body.scope !== undefined || body.expires_at !== undefined)
      await requireKeyProjectPermission(accounts, session, projectIdOf(before), 'keys:manage');
    if (body.limits !== undefined)
      await requireKeyProjectPermission(accounts, session, projectIdOf(before), 'limits:manage');
    const scope = body.scope === undefined ? undefined : toScope(body.scope, await deps.resolver.catalog());
    const limits =
      body.limits === undefined
        ? undefined
        : await toLimits(body.limits, { tenantId, listMembers: (t) => accounts.users.listMembers(t) });
    const hash = await accounts.apiKeys.hashOf(tenantId, keyId);
    if (!before || !hash) throw notFoundError;
    const expiresAt =
      body.expires_at === undefined ? undefined : body.expires_at && new Date(body.expires_at).toISOString();
    if (expiresAt !== undefined && before.rotatedTo) {
      throw new ApiError(
        'conflict',
        `This key was rotated to ${before.rotatedTo}: its expiry is the end of its grace period, and does not change.`,
        { param: 'expires_at' },
      );
    }
    if (scope !== undefined || expiresAt !== undefined) {
      // What changed, as the audit trail shows it: the key's scope and expiry before and after.
      const audited = (s: typeof scope, e: string | null) => ({
        scope: s ? apiKeyView({ ...before, scope: s }, now).scope : null,
        expires_at: e,
      });
      const entry = memberAuditItem(c, {
        action: 'api_key.scope',
        target: keyTarget(before),
        before: audited(before.scope, before.expiresAt),
        after: audited(
          scope === undefined ? before.scope : scope,
          expiresAt === undefined ? before.expiresAt : expiresAt,
        ),
      });
      const change = {
        ...(scope !== undefined ? { scope } : {}),
        ...(expiresAt !== undefined ? { expiresAt } : {}),
      };
      const done = await accounts.apiKeys.updateScope(tenantId, keyId, change, [entry]);
      if (done === 'not_found') throw notFoundError;
      if (done === 'rotated')
        throw new ApiError('conflict', 'This key was rotated meanwhile; its expiry does not change.', {
          param: 'expires_at',
        });
    }
    if (limits !== undefined) {
      const empty = !limits || Object.keys(limits).length === 0;
      const set = await accounts.apiKeys.setLimits(tenantId, keyId, empty ? null : limits, (was) => [
        memberAuditItem(c, {
          action: 'api_key.limits',
          target: keyTarget(was),
          before: { limits: was.limits ?? null },
          after: { limits: empty ? null : limits },
        }),
      ]);
      if (!set) throw notFoundError;
    }
    // This instance sees the change at once; the others within AUTH_CACHE_TTL_MS.
    accounts.authenticator.forgetKey(hash);
    const key = await accounts.apiKeys.get(tenantId, keyId);
    if (!key) throw notFoundError;
    return c.json(apiKeyView(key, now), 200);
  });
}
