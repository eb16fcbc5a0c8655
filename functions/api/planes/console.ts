import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/env';
import { registerAccount } from '../routes/account';
import { registerAdmin } from '../routes/admin';
import { registerAuth } from '../routes/auth';

/** The console plane's routes: `/auth/*`, `/.well-known/*`, `/account/*` but billing, `/admin/*`. */
export function registerConsolePlane(app: OpenAPIHono<AppEnv>): void {
  registerAuth(app);
  registerAccount(app);
  registerAdmin(app);
}
