import { createMiddleware } from 'hono/factory';
import { ApiError } from '../../../shared/errors';
import type { AppEnv } from '../env';

const BEARER_RE = /^Bearer\s+(\S+)\s*$/i;

/**
 * Authenticates `Authorization: Bearer <api key>` and sets the principal. 401 for a missing,
 * malformed, unknown, revoked or expired key (malformed and unknown keys get the same answer, so
 * guessing teaches nothing; a revoked or expired key's holder is told why); 403 when the key is
 * fine but its tenant may not call.
 */
export function apiKeyAuth() {
  return createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header('authorization');
    if (!header) {
      throw new ApiError('missing_api_key', 'No API key given. Send it as `Authorization: Bearer <key>`.');
    }
    const secret = BEARER_RE.exec(header)?.[1];
    if (!secret) {
      throw new ApiError('invalid_api_key', 'The Authorization header must be `Bearer <key>`.');
    }
    const result = await c.get('deps').authenticator.authenticate(secret);
    if (!result.ok) {
      if (result.reason === 'tenant_inactive') {
        throw new ApiError(
          'tenant_inactive',
          `This account is ${result.tenant.status.replace('_', ' ')}; API calls are refused until it is active.`,
        );
      }
      if (result.reason === 'revoked' || result.reason === 'expired') {
        throw new ApiError(
          'invalid_api_key',
          `This API key has been ${result.reason === 'revoked' ? 'revoked' : 'expired'}.`,
        );
      }
      throw new ApiError('invalid_api_key', 'Incorrect API key provided.');
    }
    c.set('principal', result.principal);
    c.get('deps').keyUsage.touch(result.principal.tenantId, result.principal.keyId);
    await next();
  });
}
