import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ConsoleEnv } from '#api/http/env';
import { registerListAlerts } from './alerts';
import { registerGetLimits } from './get';
import { registerUpdateLimits } from './update';

/** `/account/limits` and `/account/alerts`: the tenant's limits, its spend cap, and alerts. */
export function registerLimits(app: OpenAPIHono<ConsoleEnv>): void {
  registerGetLimits(app);
  registerUpdateLimits(app);
  registerListAlerts(app);
}
