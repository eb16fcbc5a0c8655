import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ConsoleEnv } from '#api/http/env';
import { registerAccountAudit } from './audit/list';
import { registerAutoRecharge } from './credits/auto-recharge';
import { registerAccountCredits } from './credits/get';
import { registerCreditReceipt } from './credits/receipt';
import { registerCreditSettings } from './credits/settings';
import { registerKeys } from './keys';
import { registerLimits } from './limits';
import { registerAccountModels } from './models/list';
import { registerPins } from './pins';
import { registerGetAccount } from './profile/get';
import { registerUpdateAccount } from './profile/update';
import { registerProjects } from './projects';
import { registerRequests } from './requests';
import { guardAccount } from './session';
import { registerTeam } from './team';
import { registerAccountUsage } from './usage/get';

/**
 * `/account/*`: a tenant user's own account, keys and team, behind a session. `/account/billing`
 * is the billing plane's (routes/account/billing, behind the same guard).
 */
export function registerAccount(app: OpenAPIHono<ConsoleEnv>): void {
  guardAccount(app);
  registerGetAccount(app);
  registerUpdateAccount(app);
  registerKeys(app);
  registerTeam(app);
  registerProjects(app);
  registerLimits(app);
  registerAccountCredits(app);
  registerCreditSettings(app);
  registerAutoRecharge(app);
  registerCreditReceipt(app);
  registerAccountUsage(app);
  registerAccountModels(app);
  registerPins(app);
  registerRequests(app);
  registerAccountAudit(app);
}
