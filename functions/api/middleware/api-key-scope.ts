import { createMiddleware } from 'hono/factory';
import { type ApiKeyScope, keyAllows } from '#shared/auth/scopes';
import { ApiError } from '#shared/errors';
import type { DataEnv } from '../http/env';

/**
 * Behind `apiKeyAuth`: refuses (403) a key whose scopes do not include what the route needs.
 * `scopeOf` maps a request to its scope, so routes added later are covered by default.
 */
export function apiKeyScope(scopeOf: (method: string, path: string) => ApiKeyScope) {
  if (typeof scopeOf !== 'function') throw new TypeError('apiKeyScope: scopeOf must be a function');
  return createMiddleware<DataEnv>(async (c, next) => {
    const needed = scopeOf(c.req.method, c.req.path);
    if (!keyAllows(c.get('principal').scopes, needed)) {
      throw new ApiError('forbidden', `This API key lacks the scope '${needed}'.`);
    }
    await next();
  });
}
