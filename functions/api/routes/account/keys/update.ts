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
import { KeyId, KeyLimitsInput, toLimits } from './schemas';

const UpdateKey = z
  .object({
    limits: KeyLimitsInput.nullable().openapi({
      description: "The key's limits, replacing the ones it had; null removes them.",
    }),
  })
  .strict()
  .openapi('UpdateKeyRequest');

const route = createRoute({
  method: 'patch',
  path: '/account/keys/{key_id}',
  tags: ['API keys'],
  summary:
    "Change an API key's limits (requests and tokens per minute, its monthly budget: hard stop or alert only, its alerts)",
  description:
    'Owners of the key’s project (tenant owners, or a project role of owner). Bites at once on the instance that handled it, everywhere within AUTH_CACHE_TTL_MS. ' +
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
    ...errorResponses('console', [...errorsOf.session, ...errorsOf.jsonBody, 'not_found']),
  },
});

export function registerUpdateKey(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { key_id: keyId } = c.req.valid('param');
    const body = c.req.valid('json');
    const session = userSession(c);
    const { tenantId } = session;
    const { accounts, now } = c.get('deps');
    const notFoundError = new ApiError('not_found', `No API key '${keyId}' in your account.`, {
      param: 'key_id',
    });
    if (!isId(keyId, 'key')) throw notFoundError;
    const existing = await accounts.apiKeys.get(tenantId, keyId);
    if (!existing) throw notFoundError;
    await requireKeyProjectPermission(accounts, session, projectIdOf(existing), 'limits:manage');
    const limits = await toLimits(body.limits, {
      tenantId,
      listMembers: (t) => accounts.users.listMembers(t),
    });
    const hash = await accounts.apiKeys.hashOf(tenantId, keyId);
    const empty = !limits || Object.keys(limits).length === 0;
    const set =
      hash &&
      (await accounts.apiKeys.setLimits(tenantId, keyId, empty ? null : limits, (before) => [
        memberAuditItem(c, {
          action: 'api_key.limits',
          target: keyTarget(before),
          before: { limits: before.limits ?? null },
          after: { limits: empty ? null : limits },
        }),
      ]));
    if (!hash || !set) throw notFoundError;
    accounts.authenticator.forgetKey(hash);
    const key = await accounts.apiKeys.get(tenantId, keyId);
    if (!key) throw notFoundError;
    return c.json(apiKeyView(key, now()), 200);
  });
}
