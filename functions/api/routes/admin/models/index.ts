import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ConsoleEnv } from '#api/http/env';
import { registerAdminModelsCreate } from './create-model';
import { registerAdminVersionsCreate } from './create-version';
import { registerAdminVersionDeprecate } from './deprecate';
import { registerAdminModelHealth } from './health';
import { registerAdminModelsList } from './list';
import { registerAdminVersionPromote } from './promote';
import { registerAdminVersionRetire } from './retire';
import { registerAdminVersionPrices } from './set-prices';
import { registerAdminTrafficSet } from './set-traffic';

/**
 * Operators' catalog routes under `/admin/models`, for `registerAdmin` (behind `sessionAuth()` and
 * `requireOperator()`); every change is written with its audit entry.
 */
export function registerAdminModels(app: OpenAPIHono<ConsoleEnv>): void {
  registerAdminModelsList(app);
  registerAdminModelHealth(app);
  registerAdminModelsCreate(app);
  registerAdminVersionsCreate(app);
  registerAdminTrafficSet(app);
  registerAdminVersionPromote(app);
  registerAdminVersionDeprecate(app);
  registerAdminVersionRetire(app);
  registerAdminVersionPrices(app);
}
