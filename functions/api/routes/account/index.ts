import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { requireUser } from '../../middleware/require-role';
import { sessionAuth } from '../../middleware/session-auth';
import { registerBilling } from './billing';
import { registerKeys } from './keys';
import { registerLimits } from './limits';
import { registerPins } from './pins';
import { registerGetAccount } from './profile/get';
import { registerUpdateAccount } from './profile/update';
import { registerTeam } from './team';
import { registerAccountUsage } from './usage/get';

/** `/account/*`: a tenant user's own account, keys and team, behind a session. */
export function registerAccount(app: OpenAPIHono<AppEnv>): void {
  app.use('/account/*', sessionAuth(), requireUser());
  registerGetAccount(app);
  registerUpdateAccount(app);
  registerKeys(app);
  registerTeam(app);
  registerLimits(app);
  registerAccountUsage(app);
  registerBilling(app);
  registerPins(app);
}
