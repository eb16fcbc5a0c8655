import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv, SessionPlaneDeps } from '#api/http/env';
import { requireOperator } from '../../middleware/require-role';
import { sessionAuth } from '../../middleware/session-auth';

const guarded = new WeakSet<object>();

/**
 * `/admin/*` is behind an operator's session. Two planes serve parts of it (the console, and billing
 * for `/admin/finance`, which reads Stripe), and in one process (the local server) both mount on
 * one app: the guard is mounted once per app, so a request is authenticated once.
 */
export function guardAdmin<D extends SessionPlaneDeps>(app: OpenAPIHono<AppEnv<D>>): void {
  if (guarded.has(app)) return;
  guarded.add(app);
  app.use('/admin/*', sessionAuth(), requireOperator());
}
