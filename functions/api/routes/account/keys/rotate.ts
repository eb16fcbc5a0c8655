import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { ApiKeySchema, sessionSecurity } from '#api/console/account-schemas';
import { keyTarget, memberAuditItem } from '#api/console/member-audit';
import { requireKeyProjectPermission } from '#api/console/project-access';
import type { ConsoleEnv } from '#api/http/env';
import { apiKeyView } from '#api/http/views';
import { userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { prepareApiKey } from '#shared/auth/issue-api-key';
import { ApiError } from '#shared/errors';
import { isId } from '#shared/ids';
import { projectIdOf } from '#shared/projects/project';
import { tenantMayCall } from '#shared/tenants/tenant-store';
import { ApiKeyWithSecret, FutureTime, KeyId } from './schemas';

/** Default grace: an hour to roll the new secret out before the old one dies. */
const DEFAULT_GRACE_SECONDS = 3600;
const MAX_GRACE_SECONDS = 7 * 86_400;

const RotateRequest = z
  .object({
    grace_period_seconds: z
      .number()
      .int('must be a whole number')
      .min(0)
      .max(MAX_GRACE_SECONDS, `must be at most ${MAX_GRACE_SECONDS} (7 days)`)
      .optional()
      .openapi({
        description: `How long the old secret keeps working. Default ${DEFAULT_GRACE_SECONDS}; 0 ends it now.`,
      }),
    expires_at: FutureTime.optional().openapi({ description: 'Expiry of the new key; default none.' }),
  })
  .openapi('RotateKeyRequest');

const RotateResponse = z
  .object({ object: z.literal('api_key_rotation'), key: ApiKeyWithSecret, previous: ApiKeySchema })
  .openapi('ApiKeyRotation');

const route = createRoute({
  method: 'post',
  path: '/account/keys/{key_id}/rotate',
  tags: ['API keys'],
  summary: 'Rotate an API key: a new secret now, the old one valid for a grace period, then dead',
  description:
    'The new key keeps the name, scopes, scope (models, endpoints, read-only, IP ranges: exactly), limits and project. A key can be rotated once; rotate its successor next time. ' +
    'Owners and developers of the key’s project (a project viewer gets 403).',
  security: sessionSecurity,
  request: {
    params: KeyId,
    body: { required: false, content: { 'application/json': { schema: RotateRequest } } },
  },
  responses: {
    201: {
      description: 'The new key (with its secret) and the old one',
      content: { 'application/json': { schema: RotateResponse } },
    },
    ...errorResponses('console', [
      ...errorsOf.session,
      ...errorsOf.jsonBody,
      'tenant_inactive',
      'not_found',
      'conflict',
    ]),
  },
});

export function registerRotateKey(app: OpenAPIHono<ConsoleEnv>): void {
  app.openapi(route, async (c) => {
    const { key_id: keyId } = c.req.valid('param');
    const body = c.req.valid('json');
    const session = userSession(c);
    const { accounts, now: clock } = c.get('deps');
    const now = clock();
    const notFoundError = new ApiError('not_found', `No API key '${keyId}' in your account.`, {
      param: 'key_id',
    });
    if (body.expires_at && Date.parse(body.expires_at) <= now.getTime()) {
      throw new ApiError('invalid_request', "'expires_at' must be in the future.", { param: 'expires_at' });
    }
    if (!isId(keyId, 'key')) throw notFoundError;
    const old = await accounts.apiKeys.get(session.tenantId, keyId);
    if (!old) throw notFoundError;
    await requireKeyProjectPermission(accounts, session, projectIdOf(old), 'keys:manage');
    if (!tenantMayCall(session.tenant.status)) {
      throw new ApiError(
        'tenant_inactive',
        `This account is ${session.tenant.status.replace('_', ' ')}; keys cannot be rotated.`,
      );
    }
    const oldView = apiKeyView(old, now);
    if (oldView.status !== 'active' || old.rotatedTo) {
      throw new ApiError(
        'conflict',
        old.rotatedTo
          ? `This key was already rotated to ${old.rotatedTo}; rotate that one.`
          : `This key is ${oldView.status}; only an active key can be rotated.`,
        { param: 'key_id' },
      );
    }
    const graceMs = (body.grace_period_seconds ?? DEFAULT_GRACE_SECONDS) * 1000;
    // Never extends an old key's life: the earlier of its own expiry and the end of the grace.
    const graceEnd = now.getTime() + graceMs;
    const oldExpiresAt = new Date(old.expiresAt ? Math.min(Date.parse(old.expiresAt), graceEnd) : graceEnd);
    const next = prepareApiKey({
      tenantId: session.tenantId,
      name: old.name,
      scopes: old.scopes,
      limits: old.limits ?? null,
      // Exactly the old key's scope: rotation never widens (nor narrows) what a key may do.
      scope: old.scope ?? null,
      expiresAt: body.expires_at ? new Date(body.expires_at).toISOString() : null,
      createdBy: session.userId,
      projectId: projectIdOf(old),
      now,
    });
    const ok = await accounts.apiKeys.rotate(old, oldExpiresAt.toISOString(), next.key, next.hash, [
      memberAuditItem(c, {
        action: 'api_key.rotate',
        target: keyTarget(old),
        before: { expiresAt: old.expiresAt, rotatedTo: null },
        after: {
          expiresAt: oldExpiresAt.toISOString(),
          rotatedTo: next.key.id,
          successorExpiresAt: next.key.expiresAt,
        },
      }),
    ]);
    if (!ok)
      throw new ApiError(
        'conflict',
        'This key changed meanwhile (revoked or rotated); list your keys again.',
        { param: 'key_id' },
      );
    // The cached lookup still has the old expiry: drop it so this instance sees the new one now.
    const hash = await accounts.apiKeys.hashOf(session.tenantId, keyId);
    if (hash) accounts.authenticator.forgetKey(hash);
    return c.json(
      {
        object: 'api_key_rotation' as const,
        key: { ...apiKeyView(next.key, now), secret: next.secret },
        previous: apiKeyView({ ...old, expiresAt: oldExpiresAt.toISOString(), rotatedTo: next.key.id }, now),
      },
      201,
    );
  });
}
