import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
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
import { KeyId } from './schemas';

const route = createRoute({
  method: 'post',
  path: '/account/keys/{key_id}/revoke',
  tags: ['API keys'],
  summary: 'Revoke an API key',
  description:
    'Refused at once by the instance that handled the revocation, and everywhere within AUTH_CACHE_TTL_MS (5 s by default). ' +
    'Revoking a revoked key is a no-op. Owners and developers of the key’s project (a project viewer gets 403).',
  security: sessionSecurity,
  request: { params: KeyId },
  responses: {
    200: { description: 'The revoked key', content: { 'application/json': { schema: ApiKeySchema } } },
    ...errorResponses('console', [...errorsOf.session, 'invalid_request', 'not_found']),
  },
});

export function registerRevokeKey(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { key_id: keyId } = c.req.valid('param');
    const session = userSession(c);
    const { tenantId } = session;
    const { accounts, now } = c.get('deps');
    const notFoundError = new ApiError('not_found', `No API key '${keyId}' in your account.`, {
      param: 'key_id',
    });
    if (!isId(keyId, 'key')) throw notFoundError;
    const existing = await accounts.apiKeys.get(tenantId, keyId);
    if (!existing) throw notFoundError;
    await requireKeyProjectPermission(accounts, session, projectIdOf(existing), 'keys:manage');
    const hash = await accounts.apiKeys.hashOf(tenantId, keyId);
    const revoked =
      hash &&
      (await accounts.apiKeys.revoke(tenantId, keyId, (before) => [
        memberAuditItem(c, {
          action: 'api_key.revoke',
          target: keyTarget(before),
          before: { status: before.status },
          after: { status: 'revoked' },
        }),
      ]));
    if (!hash || !revoked) throw notFoundError;
    accounts.authenticator.forgetKey(hash);
    const key = await accounts.apiKeys.get(tenantId, keyId);
    if (!key) throw notFoundError;
    return c.json(apiKeyView(key, now()), 200);
  });
}
