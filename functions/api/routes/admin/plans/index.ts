import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ConsoleEnv } from '#api/http/env';
import { registerReadPlans } from './list';
import { registerWritePlans } from './write';

/** `/admin/plans`: plans as data, which operators list, create and edit. */
export function registerPlans(app: OpenAPIHono<ConsoleEnv>): void {
  registerReadPlans(app);
  registerWritePlans(app);
}
