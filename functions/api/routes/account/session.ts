import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv, SessionPlaneDeps } from '#api/http/env';
import { requireUser } from '../../middleware/require-role';
import { sessionAuth } from '../../middleware/session-auth';

const guarded = new WeakSet<object>();

/**
 * `/account/*` is behind a tenant user's session. Two planes serve parts of it (the console, and
 * billing for `/account/billing`), and in one process (the local server) both mount on one app: the
 * guard is mounted once per app, by whichever comes first, so a request is authenticated once.
 */
export function guardAccount<D extends SessionPlaneDeps>(app: OpenAPIHono<AppEnv<D>>): void {
  if (guarded.has(app)) return;
  guarded.add(app);
  app.use('/account/*', sessionAuth(), requireUser());
}
