import { createMiddleware } from 'hono/factory';
import { callRefusal } from '#shared/auth/key-scope-rules';
import type { DataEnv } from '../http/env';

/**
 * Behind the principal's middleware: refuses (403, a code naming the scope) a call the key's scope
 * does not cover by its address, read-only use or endpoint, before anything is admitted or billed.
 * The model scope is checked where the model is resolved (gateway/inference.ts `resolveTarget`).
 * `checkAddress: false` for a batch's lines, which have no caller of their own (the batch was
 * created from an allowed address).
 */
export function keyScopeGuard(opts: { checkAddress: boolean }) {
  return createMiddleware<DataEnv>(async (c, next) => {
    const scope = c.get('principal')?.keyScope;
    if (scope) {
      const address =
        opts.checkAddress && (scope.ipAllowlist?.length ?? 0) > 0 ? c.get('deps').clientIp(c) : false;
      const refusal = callRefusal(scope, { method: c.req.method, path: c.req.path, address });
      if (refusal) throw refusal;
    }
    await next();
  });
}
