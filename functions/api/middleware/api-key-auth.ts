import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { StoreUnavailableError } from '#shared/db/store-errors';
import { ApiError } from '#shared/errors';
import type { DataEnv } from '../http/env';

const BEARER_RE = /^Bearer\s+(\S+)\s*$/i;

/**
 * Counts an invalid key against the caller's IP. Past API_KEY_MAX_FAILURES_PER_IP in a window
 * the answer is 429 with Retry-After instead of 401, and a warn line says so: the IP and the
 * reason, never the key. Keys are looked up by their SHA-256, so no secret is compared here.
 */
async function countFailure(c: Context<DataEnv>, reason: string): Promise<void> {
  const { config, limiter, clientIp } = c.get('deps');
  const ip = clientIp(c) ?? 'unknown';
  const slot = await limiter
    .reserve(
      {
        bucket: 'apikey-ip',
        max: config.API_KEY_MAX_FAILURES_PER_IP,
        windowSeconds: config.API_KEY_FAILURE_WINDOW_SECONDS,
      },
      ip,
    )
    .catch((err: unknown) => {
      // The key is refused either way: with the store down it goes uncounted, and the caller is
      // told about their key (401) rather than about the store. Guessing gains nothing meanwhile:
      // no key can be looked up while the store is down.
      if (err instanceof StoreUnavailableError) return undefined;
      throw err;
    });
  if (!slot || slot.ok) return;
  c.get('log').warn(
    { clientIp: ip, reason, retryAfterSeconds: slot.retryAfterSeconds },
    'invalid API keys refused',
  );
  throw new ApiError(
    'rate_limited',
    `Too many invalid API keys from this address; try again in ${slot.retryAfterSeconds} seconds.`,
    { headers: { 'retry-after': String(slot.retryAfterSeconds) } },
  );
}

/**
 * Authenticates `Authorization: Bearer <api key>` and sets the principal. 401 for a missing,
 * malformed, unknown, revoked or expired key (malformed and unknown keys get the same answer, so
 * guessing teaches nothing; a revoked or expired key's holder is told why); 403 when the key is
 * fine but its tenant may not call. Repeated invalid keys from one IP are 429 (countFailure).
 */
export function apiKeyAuth() {
  return createMiddleware<DataEnv>(async (c, next) => {
    const header = c.req.header('authorization');
    if (!header) {
      throw new ApiError('missing_api_key', 'No API key given. Send it as `Authorization: Bearer <key>`.');
    }
    const secret = BEARER_RE.exec(header)?.[1];
    if (!secret) {
      await countFailure(c, 'malformed');
      throw new ApiError('invalid_api_key', 'The Authorization header must be `Bearer <key>`.');
    }
    const result = await c.get('deps').authenticator.authenticate(secret);
    if (!result.ok && result.reason !== 'tenant_inactive') await countFailure(c, result.reason);
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
