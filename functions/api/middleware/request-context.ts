import { createMiddleware } from 'hono/factory';
import type { AppEnv, CoreDeps } from '../http/env';

/**
 * Gives every request an id (`req_...`, in the `x-request-id` answer header, the error envelope
 * and every log line), a child logger, and one access-log line. Never logs bodies or credentials.
 */
export function requestContext<D extends CoreDeps>(deps: D) {
  if (!deps?.log) throw new TypeError('requestContext: deps.log is required');
  return createMiddleware<AppEnv<D>>(async (c, next) => {
    const started = performance.now();
    const requestId = deps.ids('req');
    const log = deps.log.child({ requestId });
    c.set('deps', deps);
    c.set('requestId', requestId);
    c.set('log', log);
    c.header('x-request-id', requestId);
    await next();
    const principal = c.get('principal');
    const session = c.get('session');
    log.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 100) / 100,
        ...(principal ? { tenantId: principal.tenantId, keyId: principal.keyId } : {}),
        ...(session?.kind === 'user' ? { tenantId: session.tenantId, userId: session.userId } : {}),
        ...(session?.kind === 'operator' ? { operatorId: session.operatorId } : {}),
      },
      'request',
    );
  });
}
